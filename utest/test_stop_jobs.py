"""Stopping every job of a cluster, as suite teardowns do before checking for leaks."""

from datetime import timedelta

import pytest
from NomadJob import stop_all_jobs

from nomadtest.client import Blocking, NomadAPIError
from nomadtest.timeouts import Deadline


class FakeNomad:
    """Jobs with allocations that become terminal once their job is deregistered."""

    address = "http://127.0.0.1:4646"

    def __init__(self, jobs: dict[str, dict]) -> None:
        self.jobs = jobs
        self.deleted: list[tuple[str, str]] = []

    def get(self, path: str, **params):
        if path == "/v1/jobs":
            return [{"ID": job_id, "Stop": job["stop"]} for job_id, job in self.jobs.items()]
        job_id = path.split("/")[3]
        if path.endswith("/allocations"):
            return [{"ID": alloc, "ClientStatus": status} for alloc, status in self.jobs[job_id]["allocs"].items()]
        raise NomadAPIError("GET", path, 404, "not found")

    def delete(self, path: str, **params):
        job_id = path.split("/")[3]
        self.deleted.append((job_id, params["purge"]))
        allocs = self.jobs[job_id]["allocs"]
        for alloc in allocs:
            allocs[alloc] = "complete"

    def blocking_get(self, path: str, index: int = 0, wait: float = 5.0, **params) -> Blocking:
        alloc_id = path.rsplit("/", 1)[1]
        for job in self.jobs.values():
            if alloc_id in job["allocs"]:
                return Blocking({"ID": alloc_id, "ClientStatus": job["allocs"][alloc_id]}, index + 1)
        raise NomadAPIError("GET", path, 404, "not found")


def test_every_job_is_stopped_and_purged_and_its_allocations_awaited():
    nomad = FakeNomad(
        {
            "running": {"stop": False, "allocs": {"a" * 36: "running"}},
            "done": {"stop": True, "allocs": {"b" * 36: "complete"}},
        }
    )
    stopped = stop_all_jobs(nomad, purge=True, deadline=Deadline(timedelta(seconds=5)))
    assert stopped == ["running", "done"]
    assert nomad.deleted == [("running", "true"), ("done", "true")]
    assert nomad.jobs["running"]["allocs"]["a" * 36] == "complete"


def test_without_purge_stopped_jobs_are_left_alone():
    nomad = FakeNomad(
        {
            "running": {"stop": False, "allocs": {}},
            "done": {"stop": True, "allocs": {}},
        }
    )
    assert stop_all_jobs(nomad, purge=False, deadline=Deadline(timedelta(seconds=5))) == ["running"]
    assert nomad.deleted == [("running", "false")]


def test_a_job_that_does_not_stop_in_time_fails_naming_its_allocation():
    class Stuck(FakeNomad):
        def delete(self, path: str, **params):
            self.deleted.append((path.split("/")[3], params["purge"]))

    nomad = Stuck({"stuck": {"stop": False, "allocs": {"c" * 36: "running"}}})
    with pytest.raises(AssertionError, match="Allocation cccccccc did not stop"):
        stop_all_jobs(nomad, purge=True, deadline=Deadline(timedelta(seconds=0.3)))

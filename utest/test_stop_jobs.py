"""Stopping jobs: stop, wait until their allocations are terminal, then purge."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from nomadtest.api.client import Blocking, NomadAPIError, api_path
from nomadtest.jobs import removal, specs
from nomadtest.waiting import Deadline


class FakeNomad:
    """Jobs whose running allocations become terminal a few queries after the job was stopped."""

    address = "http://127.0.0.1:4646"

    def __init__(self, allocations: dict[str, dict[str, str]], queries_to_stop: int = 2) -> None:
        self.allocations = allocations  # job id -> {alloc id: client status}
        self.queries_to_stop = queries_to_stop
        self.calls: list[tuple[str, str]] = []
        self.stopped_at: dict[str, int] = {}
        self.queries = 0

    def get(self, path: str, **params):
        job_id = unquote(path.split("/")[3])
        if job_id not in self.allocations:
            raise NomadAPIError("GET", path, 404, "job not found")
        return {"ID": job_id}

    def delete(self, path: str, **params):
        job_id = unquote(path.split("/")[3])
        self.calls.append((job_id, params["purge"]))
        if params["purge"] == "false":
            self.stopped_at[job_id] = self.queries
        else:
            running = [status for status in self.allocations[job_id].values() if status == "running"]
            assert not running, f"job {job_id} purged while its allocations still run"

    def blocking_get(self, path: str, index: int = 0, wait: float = 5.0, **params) -> Blocking:
        assert path == "/v1/allocations" and params["namespace"] == "*"
        self.queries += 1
        for job_id, stopped in self.stopped_at.items():
            if self.queries - stopped >= self.queries_to_stop:
                self.allocations[job_id] = dict.fromkeys(self.allocations[job_id], "complete")
        answer = [
            {"ID": alloc, "JobID": job_id, "Namespace": "default", "NodeID": "n1", "ClientStatus": status}
            for job_id, allocs in self.allocations.items()
            for alloc, status in allocs.items()
        ]
        return Blocking(answer, index + 1)


def test_a_job_is_stopped_its_allocations_awaited_and_only_then_purged():
    nomad = FakeNomad({"web": {"a" * 36: "running"}})
    assert removal.stop_jobs(nomad, [("default", "web")], purge=True, deadline=Deadline(5)) == []
    assert nomad.calls == [("web", "false"), ("web", "true")]
    assert nomad.allocations["web"]["a" * 36] == "complete"


def test_without_purge_the_job_is_only_stopped():
    nomad = FakeNomad({"web": {"a" * 36: "running"}})
    removal.stop_jobs(nomad, [("default", "web")], purge=False, deadline=Deadline(5))
    assert nomad.calls == [("web", "false")]


def test_an_unknown_job_is_skipped():
    nomad = FakeNomad({})
    assert removal.stop_jobs(nomad, [("default", "gone")], purge=True, deadline=Deadline(1)) == []
    assert nomad.calls == []


def test_allocations_that_do_not_stop_in_time_are_returned_and_the_job_purged_anyway():
    nomad = FakeNomad({"stuck": {"c" * 36: "running"}}, queries_to_stop=10**6)
    nomad.delete = lambda path, **params: nomad.calls.append((unquote(path.split("/")[3]), params["purge"]))
    pending = removal.stop_jobs(nomad, [("default", "stuck")], purge=True, deadline=Deadline(0.2))
    assert pending == ["cccccccc (stuck/None: running)"]
    assert nomad.calls == [("stuck", "false"), ("stuck", "true")]


def test_allocations_on_nodes_that_are_gone_are_not_awaited():
    nomad = FakeNomad({"web": {"a" * 36: "running"}}, queries_to_stop=10**6)
    nomad.delete = lambda path, **params: None
    assert removal.stop_jobs(nomad, [("default", "web")], True, Deadline(5), live_node_ids={"other"}) == []


@pytest.mark.parametrize("job_id", ["a?b", "a#b", "a/b", "ünï"])
def test_job_ids_are_quoted_into_paths(job_id):
    assert unquote(api_path("job", job_id, "allocations").split("/")[3]) == job_id
    assert "?" not in api_path("job", job_id) and "#" not in api_path("job", job_id)


@pytest.mark.parametrize("job_id", ["a b", "tab\there", "", "nul\x00"])
def test_job_ids_nomad_refuses_are_rejected_with_a_reason(job_id):
    with pytest.raises(specs.JobError, match=r"Job id|cannot be empty"):
        specs.check_job_id(job_id)

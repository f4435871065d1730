"""Where allocations run across nodes, and the waits that follow them (nomadtest.jobs.placement)."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest

from nomadtest.api.client import Blocking, NomadAPIError
from nomadtest.jobs import placement
from nomadtest.waiting import Done, Impossible, Pending

JOB = "web"
A = "a" * 36
B = "b" * 36
C = "c" * 36


def alloc(
    alloc_id: str, status: str = "running", node: str = "client-1", desired: str = "run", next_alloc: str = ""
) -> dict:
    return {
        "ID": alloc_id,
        "NextAllocation": next_alloc,
        "JobID": JOB,
        "ClientStatus": status,
        "DesiredStatus": desired,
        "NodeID": f"id-{node}",
        "NodeName": node,
        "CreateIndex": int(alloc_id[0], 16),
    }


class Snapshots:
    """Nomad's answers as a series of states; each blocking query after the first moves one state on."""

    address = "http://127.0.0.1:4646"

    def __init__(self, *states: dict[str, Any]) -> None:
        self.states = list(states)
        self.position = 0

    def get(self, path: str, **params: Any) -> Any:
        state = self.states[self.position]
        if path not in state:
            raise NomadAPIError("GET", path, 404, "not found")
        return state[path]

    def blocking_get(self, path: str, index: int = 0, wait: float = 5.0, **params: Any) -> Blocking:
        if index and self.position + 1 < len(self.states):
            self.position += 1
        elif index:
            time.sleep(min(wait, 0.01))
        return Blocking(self.get(path), self.position + 1)


def job_state(*allocations: dict, down: tuple[str, ...] = ()) -> dict[str, Any]:
    state: dict[str, Any] = {
        "/v1/nodes": [
            {"ID": f"id-{name}", "Name": name, "Status": "down" if name in down else "ready"}
            for name in ("client-1", "client-2", "client-3")
        ],
        f"/v1/job/{JOB}": {"ID": JOB, "Status": "running"},
        f"/v1/job/{JOB}/summary": {"JobID": JOB},
        f"/v1/job/{JOB}/allocations": list(allocations),
    }
    for each in allocations:
        state[f"/v1/allocation/{each['ID']}"] = each
    return state


# -- spread ---------------------------------------------------------------------------------------


def test_an_even_spread_passes_and_shows_every_node_in_name_order():
    counts = Counter({"client-2": 1, "client-1": 2})
    assert placement.spread_failure(counts, ["client-2", "client-1"], None) is None
    assert placement.describe_spread(counts, ["client-2", "client-1"]) == "client-1: 2, client-2: 1"


def test_counts_further_apart_than_one_are_uneven():
    failure = placement.spread_failure(Counter({"client-1": 3, "client-2": 1}), ["client-1", "client-2"], None)
    assert failure == "Allocations are not spread evenly: client-1: 3, client-2: 1."


def test_an_empty_node_is_uneven_only_when_there_were_enough_allocations_for_it():
    nodes = ["client-1", "client-2", "client-3"]
    assert placement.spread_failure(Counter({"client-1": 1, "client-2": 1}), nodes, None) is None
    failure = placement.spread_failure(Counter({"client-1": 2, "client-2": 1}), nodes, None)
    assert failure == "Allocations are not spread evenly: client-1: 2, client-2: 1, client-3: 0."


def test_per_node_asks_for_that_count_on_every_node():
    nodes = ["client-1", "client-2"]
    assert placement.spread_failure(Counter({"client-1": 2, "client-2": 2}), nodes, 2) is None
    failure = placement.spread_failure(Counter({"client-1": 2, "client-2": 1}), nodes, 2)
    assert failure == "Expected 2 running allocation(s) on each node, got client-1: 2, client-2: 1."


def test_allocations_outside_the_nodes_fail_whatever_else_holds():
    failure = placement.spread_failure(Counter({"client-1": 1, "server-1": 1}), ["client-1"], 1)
    assert failure == "Allocations run outside ['client-1']: client-1: 1, server-1: 1."


def test_the_spread_counts_running_allocations_of_every_job_named():
    client = Snapshots(
        {
            **job_state(alloc(A, node="client-1"), alloc(B, "complete", node="client-1")),
            "/v1/job/api": {"ID": "api"},
            "/v1/job/api/allocations": [alloc(C, node="client-2")],
            "/v1/nodes": [{"Name": "client-1", "Status": "ready"}, {"Name": "client-2", "Status": "ready"}],
        }
    )
    assert placement.running_per_node(client, [JOB, "api"]) == Counter({"client-1": 1, "client-2": 1})
    placement.check_spread(client, (JOB, "api"))
    with pytest.raises(AssertionError, match=r"Expected 2 running allocation\(s\) on each node"):
        placement.check_spread(client, (JOB, "api"), per_node=2)
    with pytest.raises(ValueError, match=re.escape("Name at least one job.")):
        placement.check_spread(client, ())


# -- conditions -----------------------------------------------------------------------------------


def test_an_allocation_that_ended_can_no_longer_become_unknown():
    assert placement.unknown(alloc(A, "unknown")) == Done()
    assert placement.unknown(alloc(A, "running")) == Pending("status running")
    assert placement.unknown(alloc(A, "lost")) == Impossible("it is already lost")


def test_a_replacement_runs_on_another_node_than_the_original():
    original = alloc(A, "lost", node="client-1", next_alloc=B)
    same_node = alloc(B, "running", node="client-1")
    assert placement.replacement(original, [original, same_node]) == Pending(
        "replacements of aaaaaaaa: bbbbbbbb; aaaaaaaa on client-1: lost/run, bbbbbbbb on client-1: running/run"
    )
    moved = alloc(B, "running", node="client-2")
    assert placement.replacement(original, [original, moved]) == Done(moved)


def test_another_allocation_running_elsewhere_is_no_replacement_without_a_link():
    original = alloc(A, "lost", node="client-1")
    sibling = alloc(B, "running", node="client-2")
    assert placement.replacement(original, [original, sibling]) == Pending(
        "replacements of aaaaaaaa: none yet; aaaaaaaa on client-1: lost/run, bbbbbbbb on client-2: running/run"
    )


def test_a_replacement_of_a_replacement_counts_and_a_full_allocations_previous_link_too():
    original = alloc(A, "lost", node="client-1", next_alloc=B)
    failed = alloc(B, "failed", node="client-2")
    second = {**alloc(C, "running", node="client-3"), "PreviousAllocation": B}
    assert placement.successors(A, [original, failed, second]) == [failed, second]
    assert placement.replacement(original, [original, failed, second]) == Done(second)


def test_a_running_allocation_on_a_down_node_is_not_counted_as_running():
    on_down = alloc(A, node="client-1")
    others = [alloc(B, node="client-2"), alloc(C, node="client-3")]
    statuses = {"id-client-1": "down", "id-client-2": "ready", "id-client-3": "ready"}
    outcome = placement.reconciled([on_down, *others], 3, statuses)
    assert outcome == Pending(
        "aaaaaaaa on client-1 (down): running/run, bbbbbbbb on client-2: running/run, cccccccc on client-3: running/run"
    )
    assert placement.reconciled([on_down, *others], 2, statuses) == Pending(outcome.status)
    lost = alloc(A, "lost", node="client-1", desired="stop")
    assert placement.reconciled([lost, *others], 2, statuses) == Done([B, C])


def test_a_job_reconciles_once_no_copy_is_pending_unknown_or_told_to_stop():
    kept, other = alloc(A, node="client-1"), alloc(B, node="client-2")
    assert placement.reconciled([kept, alloc(B, "unknown", node="client-2")], 1) == Pending(
        "aaaaaaaa on client-1: running/run, bbbbbbbb on client-2: unknown/run"
    )
    assert isinstance(placement.reconciled([kept, {**other, "DesiredStatus": "stop"}], 1), Pending)
    assert placement.reconciled([kept, alloc(B, "complete", node="client-2", desired="stop")], 1) == Done([A])
    assert isinstance(placement.reconciled([kept, other], 1), Pending)


# -- waits ----------------------------------------------------------------------------------------


def test_reconciliation_is_waited_for_on_the_job_summary():
    client = Snapshots(
        job_state(alloc(A), alloc(B, "unknown", node="client-2")),
        job_state(alloc(A), alloc(B, "running", node="client-2", desired="stop")),
        job_state(alloc(A), alloc(B, "complete", node="client-2", desired="stop")),
    )
    assert placement.wait_until_reconciled(client, JOB, 1, 5) == [A]


def test_reconciliation_waits_until_the_allocations_of_a_down_node_are_lost():
    client = Snapshots(
        job_state(alloc(A), alloc(B, node="client-2"), down=("client-2",)),
        job_state(alloc(A), alloc(B, "lost", node="client-2", desired="stop"), down=("client-2",)),
        job_state(alloc(A), alloc(B, "lost", node="client-2", desired="stop"), alloc(C, node="client-3")),
    )
    assert placement.wait_until_reconciled(client, JOB, 2, 5) == [A, C]


def test_a_reconciliation_timeout_says_what_was_seen_last():
    client = Snapshots(job_state(alloc(A), alloc(B, node="client-2")))
    with pytest.raises(AssertionError) as raised:
        placement.wait_until_reconciled(client, JOB, 1, 0.05)
    assert str(raised.value).startswith(f"Job '{JOB}' did not reconcile to 1 running within 50 milliseconds: ")
    assert "bbbbbbbb on client-2: running/run" in str(raised.value)


def test_the_replacement_is_returned_once_it_runs():
    client = Snapshots(
        job_state(alloc(A, "lost"), alloc(C, "running", node="client-3")),
        job_state(alloc(A, "lost", next_alloc=B), alloc(B, "pending", node="client-2"), alloc(C, node="client-3")),
        job_state(alloc(A, "lost", next_alloc=B), alloc(B, "running", node="client-2"), alloc(C, node="client-3")),
    )
    assert placement.wait_for_replacement(client, JOB, A, 5) == B


def test_an_allocation_that_is_lost_cannot_become_unknown():
    client = Snapshots(job_state(alloc(A, "running")), job_state(alloc(A, "lost")))
    with pytest.raises(AssertionError) as raised:
        placement.wait_until_unknown(client, JOB, A, 5)
    assert str(raised.value) == f"Allocation aaaaaaaa of job '{JOB}' did not become unknown: it is already lost."


def test_a_service_wait_returns_the_registrations_once_there_is_one():
    registration = {"ServiceName": "echo", "Address": "198.18.0.2", "Port": 8080}
    client = Snapshots({"/v1/service/echo": []}, {"/v1/service/echo": [registration]})
    assert placement.wait_for_service(client, "echo", 5) == [registration]
    with pytest.raises(AssertionError) as raised:
        placement.wait_for_service(Snapshots({"/v1/service/none": []}), "none", 0.05)
    assert str(raised.value) == "Service 'none' was not registered within 50 milliseconds."

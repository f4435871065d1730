import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nomadtest.api.client import Blocking, NomadAPIError
from nomadtest.api.watch import watch
from nomadtest.host import runroot
from nomadtest.jobs import lookup, waits
from nomadtest.waiting import Deadline

JOB = "j"
A = "a" * 36
B = "b" * 36
HOUR_NS = 3600 * 10**9


class Timeline:
    """Nomad's state as scripted snapshots: each blocking query with an index moves one snapshot on.

    A snapshot maps API paths to answers. Past the last snapshot nothing changes any more, and a
    blocking query then waits (briefly: tests use short timeouts) as Nomad's would.
    """

    address = "http://127.0.0.1:4646"

    def __init__(self, *snapshots: dict[str, Any], logs: dict[str, bytes] | None = None) -> None:
        self.snapshots = list(snapshots)
        self.position = 0
        self.logs = logs or {}
        self.queries: list[tuple[str, int]] = []

    def _answer(self, path: str) -> Any:
        snapshot = self.snapshots[self.position]
        if path not in snapshot:
            raise NomadAPIError("GET", path, 404, "not found")
        return snapshot[path]

    def get(self, path: str, **params: Any) -> Any:
        return self._answer(path)

    def blocking_get(self, path: str, index: int = 0, wait: float = 5.0, **params: Any) -> Blocking:
        self.queries.append((path, index))
        if index and self.position + 1 < len(self.snapshots):
            self.position += 1
        elif index:
            time.sleep(min(wait, 0.01))
        return Blocking(self._answer(path), self.position + 1)

    def stream(self, path: str, timeout: float, **params: Any) -> Iterator[bytes]:
        data = self.logs.get(params["type"], b"")
        yield data[-params["offset"] :] if params.get("origin") == "end" else data


def event(kind: str, message: str = "", **details: str) -> dict:
    return {"Type": kind, "DisplayMessage": message, "Details": details, "Time": 1_700_000_000 * 10**9}


def task(state: str = "running", failed: bool = False, restarts: int = 0, events: list | None = None) -> dict:
    started = "2023-11-14T22:13:20Z" if state != "pending" else "0001-01-01T00:00:00Z"
    return {
        "State": state,
        "Failed": failed,
        "Restarts": restarts,
        "StartedAt": started,
        "Events": events if events is not None else [event("Started", "Task started by client")],
    }


def allocation(
    alloc_id: str = A,
    status: str = "running",
    tasks: dict | None = None,
    create_index: int = 10,
    name: str = "j.app[0]",
    reschedule: dict | None = None,
    **fields: Any,
) -> dict:
    group = {"Name": "app", "Tasks": [{"Name": "app"}], "ReschedulePolicy": reschedule}
    return {
        "ID": alloc_id,
        "JobID": JOB,
        "Name": name,
        "TaskGroup": "app",
        "ClientStatus": status,
        "DesiredStatus": "run",
        "CreateIndex": create_index,
        "NodeName": "node1",
        "Job": {"ID": JOB, "TaskGroups": [group]},
        "TaskStates": tasks if tasks is not None else {"app": task()},
        **fields,
    }


def snapshot(status: str = "running", allocs: tuple = (), evaluations: tuple = (), stop: bool = False) -> dict:
    answers = {
        f"/v1/job/{JOB}": {"ID": JOB, "Status": status, "Stop": stop},
        f"/v1/job/{JOB}/summary": {"JobID": JOB},
        f"/v1/job/{JOB}/allocations": [{k: v for k, v in alloc.items() if k != "Job"} for alloc in allocs],
        f"/v1/job/{JOB}/evaluations": list(evaluations),
    }
    for alloc in allocs:
        answers[f"/v1/allocation/{alloc['ID']}"] = alloc
    return answers


MISSING_DRIVER = {"app": {"NodesEvaluated": 1, "NodesInPool": 1, "ConstraintFiltered": {"missing drivers": 1}}}
BLOCKED = (
    {"ID": "e1", "CreateIndex": 11, "Status": "complete", "BlockedEval": "e2", "FailedTGAllocs": MISSING_DRIVER},
    {"ID": "e2", "CreateIndex": 12, "Status": "blocked", "FailedTGAllocs": MISSING_DRIVER},
)


# -- the blocking-query loop ----------------------------------------------------------------------


def test_each_query_waits_from_the_index_of_the_previous_answer():
    client = Timeline(snapshot("pending"), snapshot("pending"), snapshot("running"))
    job = waits.wait_for_job_status(client, JOB, "running", Deadline(5))
    assert job["Status"] == "running"
    assert client.queries == [
        (f"/v1/job/{JOB}/summary", 0),
        (f"/v1/job/{JOB}/summary", 1),
        (f"/v1/job/{JOB}/summary", 2),
    ]


def test_index_going_backwards_starts_over_from_zero():
    indexes = iter([5, 7, 3, 4])
    seen = []

    class Client:
        def blocking_get(self, path, index=0, wait=5.0):
            seen.append(index)
            return Blocking(None, next(indexes))

    checks = iter([waits.Pending("a"), waits.Pending("b"), waits.Pending("c"), waits.Done("d")])
    assert watch(Client(), "/x", lambda data: next(checks), Deadline(5)).value == "d"
    assert seen == [0, 5, 7, 0]


def test_answer_with_index_zero_is_asked_again_with_index_one_so_that_nomad_blocks():
    asked = []

    class Client:
        def blocking_get(self, path, index=0, wait=5.0):
            asked.append((index, time.monotonic()))
            return Blocking([], 0 if len(asked) < 3 else 9)

    checks = iter([waits.Pending("a"), waits.Pending("b"), waits.Done("c")])
    assert watch(Client(), "/v1/nodes", lambda data: next(checks), Deadline(5)).value == "c"
    assert [index for index, _ in asked] == [0, 1, 1]
    # Index 0 again to a query that asked to block: this Nomad does not block there, so pause.
    assert asked[2][1] - asked[1][1] >= 0.04


def test_blocking_wait_never_outlasts_the_deadline():
    waited = []

    class Client:
        def blocking_get(self, path, index=0, wait=5.0):
            waited.append(wait)
            time.sleep(0.02)
            return Blocking(None, 1)

    outcome = watch(Client(), "/x", lambda data: waits.Pending("x"), Deadline(0.05))
    assert outcome == waits.Pending("x")
    assert all(0 < wait <= 0.05 for wait in waited)


# -- job waits ------------------------------------------------------------------------------------


def test_waiting_for_running_fails_at_once_when_the_job_is_dead():
    client = Timeline(snapshot("pending"), snapshot("dead", stop=True), snapshot("running"))
    started = time.monotonic()
    with pytest.raises(waits.WaitError, match=r"^Job 'j' cannot reach status 'running': it is dead \(stopped\)"):
        waits.wait_for_job_status(client, JOB, "running", Deadline(30))
    assert time.monotonic() - started < 1


def test_unplaceable_job_fails_with_nomads_reason():
    client = Timeline(snapshot("pending", evaluations=BLOCKED))
    with pytest.raises(waits.WaitError) as failure:
        waits.wait_for_job_status(client, JOB, "running", Deadline(30))
    message = str(failure.value)
    assert message.startswith(
        "Job 'j' cannot reach status 'running': Nomad cannot place it: "
        "group 'app': Constraint \"missing drivers\" filtered 1 node"
    )
    assert "Placement failures:" in message and "No allocations." in message


def test_a_full_disk_names_the_run_root_and_its_free_space(tmp_path, monkeypatch):
    monkeypatch.setattr(runroot, "_configured", tmp_path)
    no_disk = {"app": {"NodesEvaluated": 1, "NodesExhausted": 1, "DimensionExhausted": {"disk": 1}}}
    blocked = ({"ID": "e2", "CreateIndex": 12, "Status": "blocked", "FailedTGAllocs": no_disk},)
    with pytest.raises(waits.WaitError, match=rf"in the run root {tmp_path} \(\d+ MiB free in {tmp_path}\)"):
        waits.wait_for_job_status(Timeline(snapshot("pending", evaluations=blocked)), JOB, "running", Deadline(30))


def test_blocked_evaluation_is_not_fatal_while_an_allocation_is_alive():
    running = allocation()
    client = Timeline(
        snapshot("running", allocs=(running,), evaluations=BLOCKED),
        snapshot("dead", allocs=(allocation(status="complete", tasks={"app": task("dead")}),)),
    )
    waits.wait_for_job_status(client, JOB, "dead", Deadline(5))


def test_stopping_a_job_is_how_it_gets_dead():
    client = Timeline(snapshot("running", stop=True), snapshot("dead", stop=True))
    waits.wait_for_job_status(client, JOB, "dead", Deadline(5))


def test_timeout_says_what_was_seen_last():
    client = Timeline(snapshot("pending"))
    with pytest.raises(waits.WaitError) as failure:
        waits.wait_for_job_status(client, JOB, "running", Deadline(0.05))
    assert str(failure.value).startswith("Job 'j' did not reach status 'running' within 50 milliseconds; last seen: ")
    assert "status pending" in str(failure.value)


def test_job_success_returns_exit_codes():
    done = allocation(
        status="complete", tasks={"app": task("dead", events=[event("Terminated", "Exit Code: 0", exit_code="0")])}
    )
    client = Timeline(snapshot("running", allocs=(allocation(),)), snapshot("dead", allocs=(done,)))
    assert waits.wait_for_job_success(client, JOB, Deadline(5)) == {"app": 0}


def test_job_success_keys_exit_codes_by_index_with_several_allocations():
    allocs = tuple(
        allocation(
            alloc_id=str(index) * 36,
            name=f"j.app[{index}]",
            status="complete",
            tasks={"app": task("dead", events=[event("Terminated", exit_code=str(index))])},
        )
        for index in range(2)
    )
    assert waits.wait_for_job_success(Timeline(snapshot("dead", allocs=allocs)), JOB, Deadline(5)) == {
        "app[0]": 0,
        "app[1]": 1,
    }


def test_job_success_fails_at_once_on_a_failed_allocation():
    failed = allocation(
        status="failed",
        tasks={"app": task("dead", failed=True, events=[event("Terminated", "Exit Code: 3", exit_code="3")])},
    )
    client = Timeline(snapshot("running", allocs=(allocation(),)), snapshot("running", allocs=(failed,)))
    with pytest.raises(
        waits.WaitError, match=r"cannot complete successfully: allocation aaaaaaaa \(j.app\[0\]\) failed"
    ):
        waits.wait_for_job_success(client, JOB, Deadline(30))


def test_job_success_ignores_allocations_that_were_replaced():
    first = allocation(status="failed", tasks={"app": task("dead", failed=True)}, NextAllocation=B)
    second = allocation(
        alloc_id=B, create_index=20, status="complete", tasks={"app": task("dead", events=[event("Terminated")])}
    )
    assert waits.wait_for_job_success(Timeline(snapshot("dead", allocs=(first, second))), JOB, Deadline(5)) == {
        "app": 0
    }


# -- allocation and task waits --------------------------------------------------------------------


def test_task_wait_waits_for_the_first_allocation_then_the_task():
    pending = allocation(status="pending", tasks={"app": task("pending")})
    client = Timeline(
        snapshot("pending"), snapshot("running", allocs=(pending,)), snapshot("running", allocs=(allocation(),))
    )
    assert waits.wait_for_task_state(client, JOB, "running", Deadline(5))["ID"] == A
    assert [path for path, _ in client.queries] == [
        f"/v1/job/{JOB}/summary",
        f"/v1/job/{JOB}/summary",
        f"/v1/allocation/{A}",
        f"/v1/allocation/{A}",
    ]


def test_waiting_for_running_fails_at_once_when_the_task_is_dead_and_shows_events_and_logs():
    dead = allocation(
        status="failed",
        tasks={
            "app": task(
                "dead",
                failed=True,
                events=[
                    event("Started", "Task started by client"),
                    event("Terminated", "Exit Code: 3", exit_code="3", signal="0", oom_killed="false"),
                    event("Not Restarting", "Policy allows no restarts", fails_task="true"),
                ],
            )
        },
    )
    stdout = "".join(f"line {number}\n" for number in range(1, 31)).encode()
    client = Timeline(snapshot("dead", allocs=(dead,)), logs={"stdout": stdout, "stderr": b"boom\n"})
    with pytest.raises(waits.WaitError) as failure:
        waits.wait_for_task_state(client, JOB, "running", Deadline(30))
    message = str(failure.value)
    assert message.startswith(
        "Allocation aaaaaaaa of job 'j' cannot reach task state 'running': task 'app' is dead (failed, exit code 3)\n"
        "Allocation aaaaaaaa (j.app[0]) on node1: failed\n"
        "Task 'app': dead, failed, 0 restart(s)\n"
    )
    assert "Terminated: Exit Code: 3\n" in message
    assert "Not Restarting: Policy allows no restarts (fails task)" in message
    assert "stdout (last 20 lines):\n    line 11\n" in message and "line 10\n" not in message
    assert "stderr (last 20 lines):\n    boom" in message


def test_dead_task_wait_checks_the_failed_flag():
    dead_ok = allocation(status="complete", tasks={"app": task("dead")})
    assert waits.wait_for_task_state(
        Timeline(snapshot("dead", allocs=(dead_ok,))), JOB, "dead", Deadline(5), failed=False
    )
    expected = r"cannot reach task state 'dead \(failed\)': task 'app' is dead \(not failed\)\n"
    with pytest.raises(waits.WaitError, match=expected):
        waits.wait_for_task_state(Timeline(snapshot("dead", allocs=(dead_ok,))), JOB, "dead", Deadline(5), failed=True)


def test_task_timeout_message_has_the_task_state_seen():
    pending = allocation(status="pending", tasks={"app": task("pending")})
    with pytest.raises(waits.WaitError) as failure:
        waits.wait_for_task_state(Timeline(snapshot("running", allocs=(pending,))), JOB, "running", Deadline(0.05))
    assert "did not reach task state 'running' within 50 milliseconds; last seen: task 'app' pending" in str(
        failure.value
    )


def test_wait_follows_the_allocation_that_replaced_a_failed_one():
    failed = allocation(status="failed", tasks={"app": task("dead", failed=True)}, NextAllocation=B)
    state = snapshot("running", allocs=(failed,))
    state[f"/v1/allocation/{B}"] = allocation(alloc_id=B, create_index=20)
    client = Timeline(state)
    assert waits.wait_for_task_state(client, JOB, "running", Deadline(5))["ID"] == B
    assert [path for path, _ in client.queries][-2:] == [f"/v1/allocation/{A}", f"/v1/allocation/{B}"]


def test_wait_keeps_waiting_while_a_reschedule_is_due():
    failed = allocation(
        status="failed", tasks={"app": task("dead", failed=True)}, reschedule={"Attempts": 1, "Interval": HOUR_NS}
    )
    replaced = dict(failed, NextAllocation=B)
    replacement = allocation(alloc_id=B, create_index=20)
    client = Timeline(snapshot("running", allocs=(failed,)), snapshot("running", allocs=(replaced, replacement)))
    assert waits.wait_for_task_state(client, JOB, "running", Deadline(5))["ID"] == B


def test_a_given_allocation_is_not_followed():
    failed = allocation(status="failed", tasks={"app": task("dead", failed=True)}, NextAllocation=B)
    client = Timeline(snapshot("running", allocs=(failed, allocation(alloc_id=B))))
    with pytest.raises(waits.WaitError, match="task 'app' is dead"):
        waits.wait_for_task_state(client, JOB, "running", Deadline(5), alloc_id=A)


def test_allocation_status_fails_once_passed():
    complete = allocation(status="complete", tasks={"app": task("dead")})
    with pytest.raises(
        waits.WaitError, match="cannot reach allocation status 'running': its status is already complete"
    ):
        waits.wait_for_allocation_status(Timeline(snapshot("dead", allocs=(complete,))), JOB, "running", Deadline(5))
    running = Timeline(
        snapshot("running", allocs=(allocation(status="pending"),)), snapshot("running", allocs=(allocation(),))
    )
    assert waits.wait_for_allocation_status(running, JOB, "running", Deadline(5))["ClientStatus"] == "running"


def test_restarts_are_awaited_and_a_dead_task_ends_the_wait():
    client = Timeline(
        snapshot("running", allocs=(allocation(tasks={"app": task(restarts=1)}),)),
        snapshot("running", allocs=(allocation(tasks={"app": task(restarts=2)}),)),
    )
    assert waits.wait_for_restarts(client, JOB, 2, Deadline(5)) == 2
    dead = allocation(status="failed", tasks={"app": task("dead", failed=True, restarts=1)})
    with pytest.raises(waits.WaitError, match=r"cannot reach 2 restart\(s\): task 'app' is dead after 1 restart"):
        waits.wait_for_restarts(Timeline(snapshot("dead", allocs=(dead,))), JOB, 2, Deadline(5))


def test_bad_state_names_are_refused():
    with pytest.raises(ValueError, match="Task state must be one of pending, running, dead, not 'runing'"):
        waits.wait_for_task_state(Timeline(snapshot()), JOB, "runing", Deadline(5))


# -- rescheduling ---------------------------------------------------------------------------------


def recently(hours_ago: float) -> dict:
    when = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {"RescheduleTime": int(when.timestamp() * 1e9)}


@pytest.mark.parametrize(
    ("policy", "tracker", "expected"),
    [
        (None, None, False),
        ({"Attempts": 0, "Unlimited": False, "Interval": HOUR_NS}, None, False),
        ({"Attempts": 0, "Unlimited": True, "Interval": 0}, None, True),
        ({"Attempts": 1, "Interval": HOUR_NS}, None, True),
        ({"Attempts": 1, "Interval": HOUR_NS}, {"Events": [recently(0.5)]}, False),
        ({"Attempts": 1, "Interval": HOUR_NS}, {"Events": [recently(2)]}, True),
    ],
)
def test_reschedule_follows_the_groups_policy(policy, tracker, expected):
    failed = allocation(status="failed", reschedule=policy, RescheduleTracker=tracker)
    assert lookup.will_reschedule(failed) is expected


def test_a_stopped_allocation_is_not_rescheduled():
    stopped = allocation(status="failed", reschedule={"Unlimited": True}, DesiredStatus="stop")
    assert not lookup.will_reschedule(stopped)

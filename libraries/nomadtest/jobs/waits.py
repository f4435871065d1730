"""Waiting for jobs, allocations and tasks to reach a state, on Nomad's blocking queries.

Each wait watches one endpoint with ``?index=N&wait=...`` and re-checks its condition whenever
Nomad answers, so it returns as soon as the state changes. Conditions answer with the outcomes of
:mod:`nomadtest.waiting` (Done, Pending, Impossible), as the framework's polls do.

Job-level waits watch ``/v1/job/<id>/summary``: Nomad updates it when an allocation's client
status changes and when the scheduler queues allocations it could not place, so both progress and
placement failures wake the wait. Allocation and task waits watch ``/v1/allocation/<id>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nomadtest.api.client import NomadClient, api_path
from nomadtest.api.watch import watch
from nomadtest.host import runroot
from nomadtest.jobs import lookup
from nomadtest.jobs.forensics import describe_allocation, describe_job
from nomadtest.waiting import Deadline, Done, Impossible, Outcome, Pending

JOB_STATUSES = ("pending", "running", "dead")
ALLOC_STATUSES = ("pending", "running", "complete", "failed", "lost")
TASK_STATES = ("pending", "running", "dead")
# Log lines of each task quoted in failure messages.
REPORT_LINES = 20
# An agent that does not answer has nothing to block on: how long to wait before asking again.


class WaitError(AssertionError):
    """A wait timed out or its goal became impossible; the message has the last state seen."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class Switch:
    """Follow the allocation that replaced the one watched."""

    alloc_id: str


def check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, not '{value}'.")
    return value


# -- job level -----------------------------------------------------------------------------------


def unplaceable(client: NomadClient, job_id: str, allocations: list[dict]) -> list[str]:
    """Nomad's reasons when it could not place the job and nothing placed can make progress."""
    if any(not lookup.is_terminal(alloc) for alloc in allocations):
        return []  # a running allocation may finish and free what a blocked one needs
    evaluations = client.get(api_path("job", job_id, "evaluations")) or []
    if not lookup.blocked_evaluation(evaluations):
        return []
    return lookup.placement_failures(evaluations) or ["Nomad blocked the evaluation without giving a reason"]


def _watch_job(client: NomadClient, job_id: str, check: Callable[[dict, list[dict]], Outcome], deadline: Deadline):
    def on_change(_summary: Any) -> Outcome:
        job = lookup.get_job(client, job_id)
        allocations = lookup.sort_allocations(client.get(api_path("job", job_id, "allocations")) or [])
        return check(job, allocations)

    lookup.get_job(client, job_id)  # an unknown job is an error, not a 404 from the summary
    return watch(client, api_path("job", job_id, "summary"), on_change, deadline)


def _job_failure(client: NomadClient, job_id: str, goal: str, outcome: Outcome, deadline: Deadline) -> WaitError:
    if isinstance(outcome, Impossible):
        headline = f"Job '{job_id}' cannot {goal}: {outcome.reason}"
    else:
        headline = f"Job '{job_id}' did not {goal} within {deadline}; last seen: {outcome.status}"
    return WaitError(headline + "\n" + describe_job(client, job_id, lines=REPORT_LINES))


def _unplaceable_or_stopped(
    client: NomadClient, job: dict, allocations: list[dict], stopping_ok: bool = False
) -> Impossible | None:
    reasons = unplaceable(client, job["ID"], allocations)
    if reasons:
        return Impossible("Nomad cannot place it: " + "; ".join(reasons) + _disk_hint(reasons))
    if job.get("Stop") and not stopping_ok:
        return Impossible("it was stopped")
    return None


def _disk_hint(reasons: list[str]) -> str:
    """Clients fingerprint their disk from the file system of their data dir, inside the run root."""
    if not any('Dimension "disk" exhausted' in reason for reason in reasons):
        return ""
    root = runroot.run_root()
    return (
        f". The clients' data dirs are in the run root {root} ({runroot.free_space(root)}): free space there, "
        "point NOMAD_E2E_RUN_ROOT at a larger file system, or ask for less ephemeral_disk"
    )


def wait_for_job_status(client: NomadClient, job_id: str, status: str, deadline: Deadline) -> dict:
    """Wait until Nomad reports the job's status as ``status``; returns the job."""
    check_choice(status, JOB_STATUSES, "Job status")

    def check(job: dict, allocations: list[dict]) -> Outcome:
        if job.get("Status") == status:
            return Done(job)
        if job.get("Status") == "dead":
            return Impossible("it is dead" + (" (stopped)" if job.get("Stop") else ""))
        stopping_ok = status == "dead"
        return _unplaceable_or_stopped(client, job, allocations, stopping_ok) or Pending(f"status {job.get('Status')}")

    outcome = _watch_job(client, job_id, check, deadline)
    if isinstance(outcome, Done):
        return outcome.value
    raise _job_failure(client, job_id, f"reach status '{status}'", outcome, deadline)


def wait_for_job_success(client: NomadClient, job_id: str, deadline: Deadline) -> dict[str, int]:
    """Wait until the job is dead with every allocation complete and no task failed.

    Returns the exit code of each task: keyed by task name, or ``task[index]`` when the job has
    more than one allocation.
    """

    def check(job: dict, allocations: list[dict]) -> Outcome:
        impossible = _unplaceable_or_stopped(client, job, allocations)
        if impossible:
            return impossible
        current = lookup.latest_per_slot(allocations)
        for alloc in current:
            if alloc.get("ClientStatus") in ("failed", "lost") and not lookup.will_reschedule(alloc, job):
                return Impossible(
                    f"allocation {lookup.short(alloc['ID'])} ({alloc.get('Name')}) {alloc['ClientStatus']}"
                )
        if job.get("Status") != "dead":
            return Pending(f"status {job.get('Status')}, allocations {_statuses(current)}")
        failed = [
            f"{alloc.get('Name')} task '{task}'"
            for alloc in current
            for task, state in (alloc.get("TaskStates") or {}).items()
            if state.get("Failed")
        ]
        if failed or any(alloc.get("ClientStatus") != "complete" for alloc in current):
            return Impossible(
                f"it is dead with allocations {_statuses(current)}; failed: {', '.join(failed) or 'none'}"
            )
        return Done(_exit_codes(current))

    outcome = _watch_job(client, job_id, check, deadline)
    if isinstance(outcome, Done):
        return outcome.value
    raise _job_failure(client, job_id, "complete successfully", outcome, deadline)


def _statuses(allocations: list[dict]) -> str:
    return ", ".join(f"{alloc.get('Name')}={alloc.get('ClientStatus')}" for alloc in allocations) or "none"


def _exit_codes(allocations: list[dict]) -> dict[str, int]:
    codes = {}
    for alloc in allocations:
        suffix = alloc.get("Name", "")[alloc.get("Name", "").rfind("[") :] if len(allocations) > 1 else ""
        for task, state in sorted((alloc.get("TaskStates") or {}).items()):
            code = lookup.exit_code(state)
            if code is not None:
                codes[task + suffix] = code
    return codes


def wait_for_first_allocation(client: NomadClient, job_id: str, deadline: Deadline) -> str:
    """The id of the job's latest allocation, waiting for the scheduler to place one if needed."""

    def check(job: dict, allocations: list[dict]) -> Outcome:
        if allocations:
            return Done(allocations[-1]["ID"])
        if job.get("Status") == "dead":
            return Impossible("it is dead without any allocation")
        return _unplaceable_or_stopped(client, job, allocations) or Pending(
            f"status {job.get('Status')}, no allocation yet"
        )

    outcome = _watch_job(client, job_id, check, deadline)
    if isinstance(outcome, Done):
        return outcome.value
    raise _job_failure(client, job_id, "get an allocation", outcome, deadline)


# -- allocation level ----------------------------------------------------------------------------


def watch_allocation(
    client: NomadClient,
    job_id: str,
    alloc_id: str | None,
    check: Callable[[dict], Outcome],
    deadline: Deadline,
    goal: str,
    tasks: Callable[[dict], list[str] | None] = lambda alloc: None,
) -> Any:
    """Wait until ``check`` is Done for the allocation given, or the job's latest one.

    Without an allocation id the wait follows replacements: when the allocation watched fails and
    Nomad reschedules it, the wait goes on with the replacement instead of failing.
    """
    follow = not alloc_id
    if alloc_id:
        alloc_id = lookup.select_allocation(client, job_id, alloc_id)["ID"]
    else:
        alloc_id = wait_for_first_allocation(client, job_id, deadline)
    last: dict = {}

    def on_change(alloc: dict) -> Outcome | Switch:
        last["alloc"] = alloc
        outcome = check(alloc)
        if isinstance(outcome, Impossible) and follow and lookup.is_terminal(alloc):
            if alloc.get("NextAllocation"):
                return Switch(alloc["NextAllocation"])
            if lookup.will_reschedule(alloc):
                return Pending(f"{outcome.reason}; waiting for Nomad to reschedule the allocation")
        return outcome

    while True:
        outcome = watch(client, api_path("allocation", alloc_id), on_change, deadline)
        if not isinstance(outcome, Switch):
            break
        alloc_id = outcome.alloc_id
    if isinstance(outcome, Done):
        return outcome.value
    alloc = last["alloc"]
    where = f"Allocation {lookup.short(alloc['ID'])} of job '{job_id}'"
    if isinstance(outcome, Impossible):
        headline = f"{where} cannot reach {goal}: {outcome.reason}"
    else:
        headline = f"{where} did not reach {goal} within {deadline}; last seen: {outcome.status}"
    raise WaitError(headline + "\n" + describe_allocation(client, alloc, tasks(alloc), lines=REPORT_LINES))


_ALLOC_ORDER = {"pending": 0, "running": 1, "complete": 2, "failed": 2, "lost": 2}


def wait_for_allocation_status(
    client: NomadClient, job_id: str, status: str, deadline: Deadline, alloc_id: str | None = None
) -> dict:
    """Wait until the allocation's client status is ``status``; returns the allocation."""
    check_choice(status, ALLOC_STATUSES, "Allocation status")

    def check(alloc: dict) -> Outcome:
        current = alloc.get("ClientStatus", "")
        if current == status:
            return Done(alloc)
        # Client statuses only move forward: pending, running, then one terminal status.
        if _ALLOC_ORDER.get(current, -1) >= _ALLOC_ORDER[status]:
            return Impossible(f"its status is already {current}")
        return Pending(f"status {current}")

    return watch_allocation(client, job_id, alloc_id, check, deadline, f"allocation status '{status}'")


def watch_task(
    client: NomadClient,
    job_id: str,
    alloc_id: str | None,
    task: str | None,
    check: Callable[[dict, str, dict | None], Outcome],
    deadline: Deadline,
    goal: str,
) -> Any:
    """``watch_allocation`` for a condition on one task: ``check(alloc, task name, task state)``."""
    names: dict[str, str] = {}

    def on_change(alloc: dict) -> Outcome:
        name = names.setdefault(alloc["ID"], lookup.resolve_task(alloc, task))
        return check(alloc, name, lookup.task_state(alloc, name))

    return watch_allocation(
        client,
        job_id,
        alloc_id,
        on_change,
        deadline,
        goal,
        tasks=lambda alloc: [names[alloc["ID"]]] if alloc["ID"] in names else None,
    )


def wait_for_task_state(
    client: NomadClient,
    job_id: str,
    state: str,
    deadline: Deadline,
    task: str | None = None,
    alloc_id: str | None = None,
    failed: bool | None = None,
) -> dict:
    """Wait until the task's state is ``state`` (and its failed flag ``failed``, unless None).

    Returns the allocation. A dead task never runs again in its allocation, so waiting for
    anything else from a dead task fails at once.
    """
    check_choice(state, TASK_STATES, "Task state")
    wanted = state + ("" if failed is None else " (failed)" if failed else " (not failed)")

    def check(alloc: dict, name: str, current: dict | None) -> Outcome:
        if current is None:
            if lookup.is_terminal(alloc):
                return Impossible(f"the allocation is {alloc['ClientStatus']} and task '{name}' never started")
            return Pending(f"task '{name}' not received by the client yet")
        seen = current.get("State", "")
        is_failed = bool(current.get("Failed"))
        if seen == state and (failed is None or failed == is_failed):
            return Done(alloc)
        if seen == "dead":
            return Impossible(f"task '{name}' is dead ({_how_it_ended(current)})")
        if lookup.is_terminal(alloc):
            return Impossible(f"the allocation is {alloc['ClientStatus']}")
        return Pending(f"task '{name}' {seen}, allocation {alloc.get('ClientStatus')}")

    return watch_task(client, job_id, alloc_id, task, check, deadline, f"task state '{wanted}'")


def _how_it_ended(state: dict) -> str:
    code = lookup.exit_code(state)
    ended = "failed" if state.get("Failed") else "not failed"
    return ended if code is None else f"{ended}, exit code {code}"


def wait_for_task_started(
    client: NomadClient, job_id: str, deadline: Deadline, task: str | None = None, alloc_id: str | None = None
) -> tuple[dict, str]:
    """Wait until the task has started at least once (so it has logs); returns (allocation, task)."""

    def check(alloc: dict, name: str, current: dict | None) -> Outcome:
        if lookup.has_started(current):
            return Done((alloc, name))
        if (current and current.get("State") == "dead") or lookup.is_terminal(alloc):
            return Impossible(f"task '{name}' ended without ever starting")
        return Pending(f"task '{name}' {current.get('State') if current else 'not received'}")

    return watch_task(client, job_id, alloc_id, task, check, deadline, "a started task")


def wait_for_restarts(
    client: NomadClient,
    job_id: str,
    count: int,
    deadline: Deadline,
    task: str | None = None,
    alloc_id: str | None = None,
) -> int:
    """Wait until the task has restarted at least ``count`` times in its allocation; returns the count."""
    # Restarts are counted per allocation, so a replacement allocation would start again from 0.
    alloc_id = alloc_id or wait_for_first_allocation(client, job_id, deadline)

    def check(alloc: dict, name: str, current: dict | None) -> Outcome:
        current = current or {}
        restarts = int(current.get("Restarts") or 0)
        if restarts >= count:
            return Done(restarts)
        if current.get("State") == "dead" or lookup.is_terminal(alloc):
            return Impossible(f"task '{name}' is dead after {restarts} restart(s)")
        return Pending(f"task '{name}' {current.get('State', 'not received')} after {restarts} restart(s)")

    return watch_task(client, job_id, alloc_id, task, check, deadline, f"{count} restart(s)")

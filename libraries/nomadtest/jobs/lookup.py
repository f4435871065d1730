"""Reading jobs, allocations, tasks, their events and placement failures back from Nomad."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from nomadtest.api.client import NomadAPIError, NomadClient, api_path
from nomadtest.jobs.specs import JobError

TERMINAL_ALLOC_STATUSES = frozenset({"complete", "failed", "lost"})


# How go-plugin hands a driver's error to Nomad: "rpc error: code = Unknown desc = <the driver's words>".
_GRPC_WRAPPING = re.compile(r"rpc error: code = \w+ desc = ")


def get_job(client: NomadClient, job_id: str) -> dict:
    try:
        return client.get(api_path("job", job_id))
    except NomadAPIError as error:
        if error.status == 404:
            raise JobError(f"Job '{job_id}' does not exist on {client.address}.") from None
        raise


def job_allocations(client: NomadClient, job_id: str) -> list[dict]:
    """The job's allocation stubs, oldest first."""
    get_job(client, job_id)  # a clear error for an unknown job rather than an empty list
    return sort_allocations(client.get(api_path("job", job_id, "allocations")) or [])


def sort_allocations(allocations: list[dict]) -> list[dict]:
    return sorted(allocations, key=lambda alloc: alloc.get("CreateIndex", 0))


def get_allocation(client: NomadClient, alloc_id: str) -> dict:
    """The full allocation, by id or by a unique prefix of it (as Nomad's CLI prints them)."""
    if len(alloc_id) < 36:
        matches = client.get("/v1/allocations", prefix=alloc_id) or []
        if len(matches) != 1:
            found = "none" if not matches else ", ".join(match["ID"] for match in matches)
            raise JobError(f"Allocation prefix '{alloc_id}' must match exactly one allocation; matches: {found}.")
        alloc_id = matches[0]["ID"]
    try:
        return client.get(api_path("allocation", alloc_id))
    except NomadAPIError as error:
        if error.status == 404:
            raise JobError(f"Allocation '{alloc_id}' does not exist on {client.address}.") from None
        raise


def select_allocation(client: NomadClient, job_id: str, alloc_id: str | None = None) -> dict:
    """The allocation given, or the job's most recently created one."""
    if alloc_id:
        alloc = get_allocation(client, alloc_id)
        if alloc.get("JobID") != job_id:
            raise JobError(f"Allocation '{alloc['ID']}' belongs to job '{alloc.get('JobID')}', not '{job_id}'.")
        return alloc
    allocations = job_allocations(client, job_id)
    if not allocations:
        raise JobError(f"Job '{job_id}' has no allocations (yet): wait for one with 'Wait For Allocation Status'.")
    return get_allocation(client, allocations[-1]["ID"])


def task_names(alloc: dict) -> list[str]:
    """The tasks of the allocation's group, in the job's order."""
    for group in (alloc.get("Job") or {}).get("TaskGroups") or []:
        if group.get("Name") == alloc.get("TaskGroup"):
            return [task["Name"] for task in group.get("Tasks") or []]
    return sorted(alloc.get("TaskStates") or {})


def resolve_task(alloc: dict, task: str | None) -> str:
    """``task`` checked against the allocation, or the group's only task when none is given."""
    names = task_names(alloc)
    if task:
        if names and task not in names:
            raise JobError(f"Allocation {short(alloc['ID'])} has no task '{task}'; its tasks: {', '.join(names)}.")
        return task
    if len(names) != 1:
        raise JobError(
            f"Allocation {short(alloc['ID'])} has tasks {', '.join(names) or '(none)'}: say which one with task=<name>."
        )
    return names[0]


def task_state(alloc: dict, task: str) -> dict | None:
    """The client's view of ``task``; None before the client has received the allocation."""
    return (alloc.get("TaskStates") or {}).get(task)


def is_terminal(alloc: dict) -> bool:
    return alloc.get("ClientStatus") in TERMINAL_ALLOC_STATUSES


def has_started(state: dict | None) -> bool:
    """Whether the task has started at least once (and so has logs); Nomad's zero time means never."""
    return bool(state) and not str(state.get("StartedAt") or "0001").startswith("0001")


def matching_events(
    events: list[dict], event_type: str, message: str | None, regexp: bool = False, ignore_case: bool = False
) -> list[dict]:
    """The events of ``event_type`` whose message contains ``message`` (or matches it, with ``regexp``)."""

    def fold(text: str) -> str:
        return text.casefold() if ignore_case else text

    def matches(text: str) -> bool:
        if message is None:
            return True
        if regexp:
            return re.search(message, text, re.IGNORECASE if ignore_case else 0) is not None
        return fold(message) in fold(text)

    return [event for event in events if fold(event["type"]) == fold(event_type) and matches(event["message"])]


def short(alloc_id: str) -> str:
    return alloc_id[:8]


def task_events(state: dict | None) -> list[dict]:
    """The task's events as ``type``, ``message``, ``details`` and ``time`` (UTC datetime)."""
    return [
        {
            "type": event.get("Type", ""),
            "message": event_message(event),
            "details": dict(event.get("Details") or {}),
            "time": event_time(event),
        }
        for event in (state or {}).get("Events") or []
    ]


def event_message(event: dict) -> str:
    """What Nomad says of the event, without the gRPC wrapping of a driver's error."""
    details = event.get("Details") or {}
    message = (
        event.get("DisplayMessage")
        or event.get("Message")
        or details.get("message")
        or event.get("DriverError")
        or event.get("RestartReason")
        or ""
    )
    return _GRPC_WRAPPING.sub("", message)


def event_time(event: dict) -> datetime:
    return datetime.fromtimestamp(event.get("Time", 0) / 1e9, tz=UTC)


def exit_code(state: dict | None) -> int | None:
    """The exit code of the task's last run, from its most recent ``Terminated`` event."""
    for event in reversed((state or {}).get("Events") or []):
        if event.get("Type") == "Terminated":
            return int((event.get("Details") or {}).get("exit_code", event.get("ExitCode", 0)))
    return None


def blocked_evaluation(evaluations: list[dict]) -> dict | None:
    """The job's blocked evaluation: Nomad's record of allocations it could not place."""
    blocked = [evaluation for evaluation in evaluations if evaluation.get("Status") == "blocked"]
    return max(blocked, key=lambda evaluation: evaluation.get("CreateIndex", 0)) if blocked else None


def placement_failures(evaluations: list[dict]) -> list[str]:
    """Why Nomad could not place the job's allocations, one line per task group, newest evaluation first."""
    for evaluation in sorted(evaluations, key=lambda item: item.get("CreateIndex", 0), reverse=True):
        failed = evaluation.get("FailedTGAllocs") or {}
        if failed:
            return [f"group '{group}': {describe_metric(metric)}" for group, metric in sorted(failed.items())]
        if evaluation.get("Status") == "complete" and not evaluation.get("BlockedEval"):
            return []  # the newest decision placed everything; older failures are history
    return []


def describe_metric(metric: dict) -> str:
    """One line from an evaluation's AllocMetric, in the terms Nomad uses."""
    reasons = []
    if not metric.get("NodesEvaluated") and not metric.get("NodesInPool"):
        reasons.append(f"no nodes in node pool '{metric.get('NodePool') or 'default'}'")
    available = metric.get("NodesAvailable") or {}
    if available and not any(available.values()):
        reasons.append(f"no nodes available in datacenters {', '.join(sorted(available))}")
    for name, count in sorted((metric.get("ClassFiltered") or {}).items()):
        reasons.append(f'Class "{name}" filtered {_nodes(count)}')
    for name, count in sorted((metric.get("ConstraintFiltered") or {}).items()):
        reasons.append(f'Constraint "{name}" filtered {_nodes(count)}')
    if metric.get("NodesExhausted"):
        reasons.append(f"Resources exhausted on {_nodes(metric['NodesExhausted'])}")
    for name, count in sorted((metric.get("DimensionExhausted") or {}).items()):
        reasons.append(f'Dimension "{name}" exhausted on {_nodes(count)}')
    for quota in metric.get("QuotaExhausted") or []:
        reasons.append(f'Quota limit hit "{quota}"')
    if metric.get("CoalescedFailures"):
        reasons.append(f"{metric['CoalescedFailures']} more allocation(s) not placed for the same reasons")
    return "; ".join(reasons) or f"no node fits ({metric.get('NodesEvaluated', 0)} evaluated)"


def _nodes(count: int) -> str:
    return f"{count} node" if count == 1 else f"{count} nodes"


def latest_per_slot(allocations: list[dict]) -> list[dict]:
    """The newest allocation of each ``job.group[index]`` name: the ones not replaced."""
    latest: dict[str, dict] = {}
    for alloc in allocations:
        latest[alloc.get("Name", alloc["ID"])] = alloc
    return list(latest.values())


def will_reschedule(alloc: dict, job: dict | None = None) -> bool:
    """Whether Nomad will replace this failed allocation, judged from its group's reschedule policy.

    Mirrors the scheduler's rule closely enough for deciding to keep waiting: a replacement exists
    or is scheduled, or the policy still allows an attempt within its interval.
    """
    if alloc.get("NextAllocation") or alloc.get("FollowupEvalID"):
        return True
    if alloc.get("DesiredStatus") != "run" or alloc.get("ClientStatus") not in ("failed", "lost"):
        return False
    job = alloc.get("Job") or job or {}
    if job.get("Stop"):
        return False
    policy = next(
        (group.get("ReschedulePolicy") for group in job.get("TaskGroups") or [] if group["Name"] == alloc["TaskGroup"]),
        None,
    )
    if not policy:
        return False
    if policy.get("Unlimited"):
        return True
    window_start = datetime.now(UTC) - timedelta(microseconds=policy.get("Interval", 0) / 1000)
    recent = [
        event
        for event in (alloc.get("RescheduleTracker") or {}).get("Events") or []
        if datetime.fromtimestamp(event.get("RescheduleTime", 0) / 1e9, tz=UTC) > window_start
    ]
    return len(recent) < policy.get("Attempts", 0)

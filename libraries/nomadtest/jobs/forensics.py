"""What a job, its allocations and tasks looked like: for failure messages and for failed tests' logs.

The same plain-text report serves both, so what a wait's failure message says and what
``Capture Job Forensics`` logs read alike.
"""

from __future__ import annotations

import html

import requests

from nomadtest.api.client import NomadAPIError, NomadClient, api_path
from nomadtest.jobs import lookup, specs
from nomadtest.jobs.logs import STREAMS, safe_tail

# Allocations of one job shown in full; older ones (replaced by rescheduling) are only counted.
MAX_ALLOCATIONS = 5


def format_event(event: dict) -> str:
    """``02:11:28.650 Terminated: Exit Code: 3`` with what the message leaves out."""
    message = lookup.event_message(event)
    details = event.get("Details") or {}
    extra = []
    if event.get("Type") == "Terminated":
        code = details.get("exit_code", str(event.get("ExitCode", "")))
        if code and code not in message:
            extra.append(f"exit code {code}")
        if details.get("signal") not in (None, "", "0") and "Signal" not in message:
            extra.append(f"signal {details['signal']}")
        if details.get("oom_killed") == "true" and "OOM" not in message:
            extra.append("OOM killed")
    if details.get("fails_task") == "true":
        extra.append("fails task")
    time = lookup.event_time(event).strftime("%H:%M:%S.%f")[:-3]
    suffix = f" ({', '.join(extra)})" if extra else ""
    return f"{time} {event.get('Type', '?')}: {message}{suffix}".rstrip()


def describe_task(client: NomadClient | None, alloc: dict, task: str, lines: int = 20) -> str:
    state = lookup.task_state(alloc, task)
    if state is None:
        return f"Task '{task}': not received by the client yet"
    status = state.get("State", "?") + (", failed" if state.get("Failed") else "")
    out = [f"Task '{task}': {status}, {state.get('Restarts', 0)} restart(s)"]
    events = state.get("Events") or []
    out.append("  Events:" if events else "  Events: none")
    out.extend(f"    {format_event(event)}" for event in events)
    if client is not None and lines > 0 and lookup.has_started(state):
        for stream in STREAMS:
            tail = safe_tail(client, alloc["ID"], task, stream, lines)
            out.append(f"  {stream} (last {lines} lines):")
            out.extend(f"    {line}" for line in tail.splitlines())
    return "\n".join(out)


def describe_allocation(
    client: NomadClient | None, alloc: dict, tasks: list[str] | None = None, lines: int = 20
) -> str:
    """The allocation's status, each task's state and events, and the end of each task's logs."""
    status = alloc.get("ClientStatus", "?")
    if alloc.get("ClientDescription"):
        status += f" ({alloc['ClientDescription']})"
    if alloc.get("DesiredStatus") not in (None, "run"):
        status += f", desired {alloc['DesiredStatus']}"
        if alloc.get("DesiredDescription"):
            status += f" ({alloc['DesiredDescription']})"
    out = [
        f"Allocation {lookup.short(alloc['ID'])} ({alloc.get('Name', '?')}) on {alloc.get('NodeName', '?')}: {status}"
    ]
    out.extend(describe_task(client, alloc, task, lines) for task in tasks or lookup.task_names(alloc))
    return "\n".join(out)


def describe_job(client: NomadClient, job_id: str, lines: int = 50) -> str:
    """Everything worth knowing about a job after a failure; never raises."""
    try:
        job = lookup.get_job(client, job_id)
        stubs = client.get(api_path("job", job_id, "allocations")) or []
        evaluations = client.get(api_path("job", job_id, "evaluations")) or []
    except (specs.JobError, NomadAPIError, requests.RequestException) as error:
        return f"Job '{job_id}': cannot be read: {error}"
    out = [f"Job '{job_id}': {job.get('Status', '?')}" + (" (stopped)" if job.get("Stop") else "")]
    failures = lookup.placement_failures(evaluations)
    if failures:
        out.append("Placement failures:")
        out.extend(f"  {failure}" for failure in failures)
    stubs = lookup.sort_allocations(stubs)
    if not stubs:
        out.append("No allocations.")
    if len(stubs) > MAX_ALLOCATIONS:
        out.append(f"({len(stubs) - MAX_ALLOCATIONS} older allocations not shown)")
    for stub in stubs[-MAX_ALLOCATIONS:]:
        try:
            alloc = client.get(api_path("allocation", stub["ID"]))
        except (NomadAPIError, requests.RequestException) as error:
            out.append(f"Allocation {lookup.short(stub['ID'])}: cannot be read: {error}")
            continue
        out.append(describe_allocation(client, alloc, lines=lines))
    return "\n".join(out)


def as_html(title: str, report: str) -> str:
    """A report for log.html: collapsed under ``title``, preformatted, escaped."""
    return f"<details><summary>{html.escape(title)}</summary><pre>{html.escape(report)}</pre></details>"

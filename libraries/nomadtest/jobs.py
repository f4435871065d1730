"""Job specs from templates, their submission, and reading jobs, allocations and tasks back.

Everything here returns data or raises :class:`JobError`; logging to Robot's log is left to the
keyword libraries so this module stays usable (and testable) outside a Robot run.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from . import templating
from .client import NomadAPIError, NomadClient, api_path

JOB_TEMPLATES_DIR = templating.TEMPLATES_DIR / "jobs"
TEMPLATE_SUFFIX = ".hcl.j2"
TERMINAL_ALLOC_STATUSES = frozenset({"complete", "failed", "lost"})
MAX_JOB_ID_LENGTH = 128
_NOT_IN_JOB_IDS = re.compile(r"[\s\x00-\x1f\x7f]")
# Lines of rendered HCL shown either side of the one Nomad's parser complains about.
CONTEXT_LINES = 2

# Nomad's HCL diagnostics look like "input.hcl:6,26-27: Summary; Detail" or "input.hcl:6,38-7,1: ...".
_HCL_RANGE = re.compile(r"\.hcl:(?P<line>\d+),(?P<column>\d+)(?:-(?:(?P<end_line>\d+),)?(?P<end_column>\d+))?:")
# How go-plugin hands a driver's error to Nomad: "rpc error: code = Unknown desc = <the driver's words>".
_GRPC_WRAPPING = re.compile(r"rpc error: code = \w+ desc = ")
_UNDEFINED = re.compile(r"'(?P<name>[^']+)' is undefined")


class JobError(AssertionError):
    """A job could not be rendered, submitted or found; the message says why in Nomad's words."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class RenderedJob:
    """A job spec rendered from a template, file or text, ready for Nomad's parser."""

    source: str  # what the user passed, as shown in messages
    job_id: str
    hcl: str


def check_job_id(job_id: str) -> str:
    """``job_id`` if Nomad takes it as a job id, else a JobError saying why."""
    if not job_id.strip():
        raise JobError("A job id cannot be empty.")
    if _NOT_IN_JOB_IDS.search(job_id):
        raise JobError(f"Job id {job_id!r} holds whitespace or a control character, which Nomad refuses in job ids.")
    if len(job_id) > MAX_JOB_ID_LENGTH:
        raise JobError(f"Job id {job_id[:20]!r}... is {len(job_id)} characters long; Nomad takes {MAX_JOB_ID_LENGTH}.")
    return job_id


def unique_job_id(prefix: str) -> str:
    """``<prefix>-<8 hex digits>``: unique across runs, short enough to read in Nomad's output."""
    return check_job_id(f"{prefix}-{uuid.uuid4().hex[:8]}")


def template_prefix(source: str) -> str:
    name = Path(source).name
    for suffix in (TEMPLATE_SUFFIX, ".j2", ".nomad.hcl", ".hcl", ".nomad"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _environment(search_path: list[Path]) -> jinja2.Environment:
    env = templating.environment(JOB_TEMPLATES_DIR)
    # User templates may extend or include the project's own job templates.
    env.loader = jinja2.FileSystemLoader([str(path) for path in search_path])
    return env


def _load(template_or_file: str, templates_dir: Path) -> tuple[jinja2.Template, str]:
    """The template named (``java-batch``) or the file at the path given, and how to name it."""
    path = Path(template_or_file).expanduser()
    if path.is_file():
        env = _environment([path.resolve().parent, templates_dir])
        return env.get_template(path.name), str(path)
    name = template_or_file if template_or_file.endswith(".j2") else template_or_file + TEMPLATE_SUFFIX
    env = _environment([templates_dir])
    try:
        return env.get_template(name), str(templates_dir / name)
    except jinja2.TemplateNotFound:
        known = sorted(p.name[: -len(TEMPLATE_SUFFIX)] for p in templates_dir.glob("*" + TEMPLATE_SUFFIX))
        raise JobError(
            f"No job template '{template_or_file}': not a file, and not one of {', '.join(known) or 'none'} "
            f"in {templates_dir}."
        ) from None


def render_job(
    template_or_file: str | None = None,
    variables: Mapping[str, Any] | None = None,
    hcl_text: str | None = None,
    unique: bool = True,
    templates_dir: Path = JOB_TEMPLATES_DIR,
    defaults: Mapping[str, Any] | None = None,
) -> RenderedJob:
    """Render a job template, a template file or template text with a fresh ``job_id``.

    ``job_id`` in ``variables`` is the prefix of the unique id (or the id itself when ``unique`` is
    false); without it the prefix is the template's name. ``defaults`` (such as the driver under
    test) fill in the variables the template reads and the caller did not give.
    """
    if (template_or_file is None) == (hcl_text is None):
        raise JobError("Give either a template name or file, or the job's HCL text with hcl=..., not both.")
    variables = dict(variables or {})
    try:
        if hcl_text is not None:
            source = "the given HCL"
            env = _environment([templates_dir])
            template = env.from_string(hcl_text)
            known = templating.template_variables(env, source=hcl_text)
            prefix = "job"
        else:
            template, source = _load(template_or_file, templates_dir)
            known = templating.template_variables(template.environment, template.name)
            prefix = template_prefix(template_or_file)
    except jinja2.TemplateSyntaxError as error:
        raise JobError(f"Job template {_name(template_or_file)} line {error.lineno}: {error.message}") from None
    _check_known(template_or_file, variables, known)
    variables = {**{name: value for name, value in (defaults or {}).items() if name in known}, **variables}
    requested = str(variables.pop("job_id", prefix))
    job_id = unique_job_id(requested) if unique else check_job_id(requested)
    try:
        text = template.render(variables, job_id=job_id)
    except jinja2.UndefinedError as error:
        missing = _UNDEFINED.search(str(error))
        if missing:
            raise JobError(
                f"Job template {_name(template_or_file)} needs variable '{missing['name']}': "
                f"pass it as {missing['name']}=<value>."
            ) from None
        raise JobError(f"Job template {_name(template_or_file)}: {error}") from None
    except TypeError as error:
        raise JobError(f"Job template {_name(template_or_file)}: {error}") from None
    return RenderedJob(source=source, job_id=job_id, hcl=text)


def _check_known(template_or_file: str | None, variables: Mapping[str, Any], known: set[str]) -> None:
    """A variable the template never reads is a typo (``memroy=300``) that would silently change nothing."""
    unknown = sorted(set(variables) - known - {"job_id"})
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise JobError(
        f"Job template {_name(template_or_file)} has no variable {', '.join(hints)}; "
        f"it reads: {', '.join(sorted(known - {'job_id'})) or 'none'}."
    )


def _name(template_or_file: str | None) -> str:
    return f"'{template_or_file}'" if template_or_file is not None else "given as hcl="


def format_parse_error(message: str, hcl_text: str) -> str:
    """Nomad's parse error followed by the rendered lines it points at, numbered, with a caret."""
    found = _HCL_RANGE.search(message)
    if not found:
        return message
    lines = hcl_text.splitlines()
    first = int(found["line"])
    last = int(found["end_line"] or first)
    # A range ending at column 1 of the next line is about the end of the previous one.
    if last > first and found["end_column"] == "1":
        last -= 1
    column = int(found["column"])
    width = len(str(min(last + CONTEXT_LINES, len(lines))))
    shown = []
    for number in range(max(first - CONTEXT_LINES, 1), min(last + CONTEXT_LINES, len(lines)) + 1):
        marker = ">" if first <= number <= last else " "
        shown.append(f"{marker} {number:>{width}} | {lines[number - 1]}")
        if number == first:
            shown.append(f"  {'':>{width}} | {' ' * (column - 1)}^")
    return message + "\n" + "\n".join(shown)


def parse_job(client: NomadClient, rendered: RenderedJob) -> dict:
    """The job as JSON, parsed by Nomad itself so that HCL means exactly what Nomad makes of it."""
    try:
        return client.put("/v1/jobs/parse", {"JobHCL": rendered.hcl, "Canonicalize": True})
    except NomadAPIError as error:
        if error.status != 400:
            raise
        raise JobError(
            f"Nomad cannot parse job '{rendered.job_id}' from {rendered.source}: "
            + format_parse_error(error.body, rendered.hcl)
        ) from None


def namespace_of(client: NomadClient) -> str:
    """The namespace the client's jobs live in: its own (an external cluster's test namespace) or Nomad's default."""
    return client.namespace or "default"


def register_job(client: NomadClient, job: dict) -> dict:
    """Register ``job`` in the client's namespace; returns Nomad's answer (``EvalID``, ``Warnings``...)."""
    if client.namespace and job.get("Namespace") in (None, "", "default"):
        job = {**job, "Namespace": client.namespace}
    try:
        return client.put("/v1/jobs", {"Job": job})
    except NomadAPIError as error:
        if error.status >= 500 or error.status == 400:
            raise JobError(f"Nomad rejected job '{job.get('ID')}': {error.body}") from None
        if error.status == 403:
            raise JobError(
                f"Permission denied: Nomad at {client.address} refused to register job '{job.get('ID')}' in "
                f"namespace '{job.get('Namespace') or 'default'}' with this token ({error.body}). Its ACL "
                'policy needs the submit-job capability there (policy = "write").'
            ) from None
        raise


# -- reading jobs, allocations and tasks ---------------------------------------------------------


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


# -- placement failures --------------------------------------------------------------------------


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


# -- stopping ------------------------------------------------------------------------------------


def stop_jobs(
    client: NomadClient,
    job_keys: list[tuple[str, str]],
    purge: bool,
    deadline,
    live_node_ids: set[str] | None = None,
) -> list[str]:
    """Stop the jobs (``(namespace, id)`` pairs), wait until their allocations are terminal, then purge.

    Stopping first and waiting lets the driver stop and destroy each task the normal way: a purge
    alone drops the allocations from the state at once, leaving nothing to wait on while the tasks
    still run. Allocations on nodes outside ``live_node_ids`` (when given) can never finish and are
    not waited for. Unknown jobs are skipped. Returns the allocations still not terminal when the
    deadline passed; the jobs are purged all the same.
    """
    stopped = [key for key in job_keys if _deregister(client, *key, purge=False)]
    pending: list[str] = []
    index = 0
    wanted = set(stopped)
    while wanted:
        answer = client.blocking_get("/v1/allocations", index=index, wait=deadline.block_for(), namespace="*")
        index = answer.index
        pending = [
            f"{short(alloc['ID'])} ({alloc['JobID']}/{alloc.get('TaskGroup')}: {alloc['ClientStatus']})"
            for alloc in answer.data or []
            if (alloc["Namespace"], alloc["JobID"]) in wanted
            and (live_node_ids is None or alloc["NodeID"] in live_node_ids)
            and not is_terminal(alloc)
        ]
        if not pending or deadline.expired:
            break
    if purge:
        for key in stopped:
            _deregister(client, *key, purge=True)
    return pending


def _deregister(client: NomadClient, namespace: str, job_id: str, purge: bool) -> bool:
    """Deregister the job; False when Nomad does not know it (a periodic child may go with its parent)."""
    try:
        client.get(api_path("job", job_id), namespace=namespace)
        client.delete(api_path("job", job_id), purge=str(purge).lower(), namespace=namespace)
    except NomadAPIError as error:
        if error.status == 404:
            return False
        raise
    return True

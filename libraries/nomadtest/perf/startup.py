"""How long a job takes to start, by Nomad's own clock and the JVM's.

Nomad stamps a job's ``SubmitTime`` when the server registers it and each task event when the
client records it; the start-probe JAR prints the wall-clock time at which ``main`` was entered
(``main-entered-epoch-us=<microseconds>``). All of them come from this host's clock, so their
differences are the job's start latency as a user sees it.

The timed runs at the end are the procedures behind Performance's start-time keywords.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from robot.api import logger

from nomadtest.api.client import timed_requests
from nomadtest.jobs import logs, lookup, registration, removal, waits
from nomadtest.perf.figures import summarise
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline

if TYPE_CHECKING:
    from nomadtest.api.client import NomadClient
    from nomadtest.jobs.delivery import JarDelivery
    from nomadtest.jobs.tracking import JobTracker

# What jars/apps/start-probe prints first thing in main.
START_PROBE_MARKER = "main-entered-epoch-us="
# Stop Job's own default.
STOP_TIMEOUT = timedelta(seconds=60)
# The steps of a submission, as registration.submit_job times them.
SUBMIT_PHASES = ("render", "parse", "register", "track")


class StartupError(AssertionError):
    """A start could not be measured; the message says what was missing."""

    ROBOT_SUPPRESS_NAME = True


def marker_time(text: str, marker: str = START_PROBE_MARKER) -> float | None:
    """The epoch seconds printed after ``marker`` (in microseconds) on the first line starting with it."""
    for line in text.splitlines():
        if line.startswith(marker):
            value = line[len(marker) :].strip()
            try:
                return int(value) / 1e6
            except ValueError:
                raise StartupError(
                    f"The marker line {line!r} does not end with microseconds since the epoch."
                ) from None
    return None


def event_time(state: dict | None, event_type: str, last: bool = False) -> float | None:
    """Epoch seconds of the task's first (or last) event of ``event_type``; None when it has none."""
    times = [event["Time"] / 1e9 for event in (state or {}).get("Events") or [] if event.get("Type") == event_type]
    if not times:
        return None
    return times[-1] if last else times[0]


def submit_time(job: dict) -> float:
    """When Nomad registered this version of the job, in epoch seconds."""
    submitted = job.get("SubmitTime")
    if not submitted:
        raise StartupError(f"Job '{job.get('ID')}' has no SubmitTime.")
    return submitted / 1e9


@dataclass(frozen=True)
class StartupRun:
    """One measured start: Nomad's and the JVM's times, and the time the framework spent around it.

    Each framework figure comes with Nomad's part of it, measured in the same call: the time spent
    in API requests (``*_nomad_seconds``), or for the detection, from the task's Terminated event
    to the server recording the allocation's end. The difference is the framework's own.
    """

    job_id: str
    submitted: float  # Nomad's SubmitTime
    started: float  # the task's first Started event
    main: float | None  # the JVM's marker line, when one was asked for
    submit_seconds: float  # inside Submit Job: render, Nomad's parse, register
    detect_seconds: float | None  # from Nomad's Terminated event to the wait noticing the job complete
    stop_seconds: float  # inside Stop Job: stop, wait for terminal allocations, purge
    submit_nomad_seconds: float = 0.0  # of submit_seconds, in Nomad's API (parse, register)
    submit_phases: tuple[tuple[str, float], ...] = ()  # submit_seconds by step: render, parse, register, track
    detect_nomad_seconds: float | None = None  # Terminated event to the allocation's end on the server
    stop_nomad_seconds: float = 0.0  # of stop_seconds, in Nomad's API (stop, waits, purge)

    @property
    def to_started(self) -> float:
        return self.started - self.submitted

    @property
    def to_main(self) -> float | None:
        return None if self.main is None else self.main - self.submitted

    def describe(self) -> str:
        main = f", main after {self.to_main:.3f} s" if self.to_main is not None else ""
        return (
            f"job {self.job_id}: Started after {self.to_started:.3f} s{main}; framework: submit "
            f"{self.submit_seconds:.3f} s (Nomad {self.submit_nomad_seconds:.3f} s), stop "
            f"{self.stop_seconds:.3f} s (Nomad {self.stop_nomad_seconds:.3f} s)"
            + (
                f", noticed completion {self.detect_seconds:.3f} s after the Terminated event"
                if self.detect_seconds is not None
                else ""
            )
        )


def task_timeline(alloc: dict, task: str) -> tuple[float, float | None]:
    """The task's first Started and last Terminated times; fails when it never started."""
    state = lookup.task_state(alloc, task)
    started = event_time(state, "Started")
    if started is None:
        raise StartupError(
            f"Task '{task}' of allocation {lookup.short(alloc['ID'])} has no Started event; its events: "
            + ", ".join(event.get("Type", "?") for event in (state or {}).get("Events") or [])
        )
    return started, event_time(state, "Terminated", last=True)


def summary(samples: dict[str, list[float]]) -> str:
    """``name: median ..., p90 ...`` per list of samples, for the log."""
    lines = []
    for name, values in samples.items():
        if values and all(isinstance(value, int | float) for value in values):
            stats = summarise(values)
            lines.append(f"{name}: median {stats['median']:.3f} s, p90 {stats['p90']:.3f} s, n={stats['count']}")
    return "\n".join(lines)


# -- timed runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimedJob:
    """The job timed runs submit and stop, as `Submit Job` and `Stop Job` of the NomadJob library would.

    ``delivery`` and ``tracker`` are that library's, so the jobs are served and cleaned up as its own.
    """

    delivery: JarDelivery
    tracker: JobTracker
    template: str
    variables: dict[str, Any]
    agent: str | None = None

    def submit(self, phases: dict[str, float] | None = None) -> str:
        """Submit the job; ``phases`` gets the seconds of each step, as `registration.submit_job` says."""
        variables = dict(self.variables)
        # Submit Job takes these as arguments of its own, not as template variables.
        hcl = variables.pop("hcl", None)
        unique = variables.pop("unique", True)
        target = REGISTRY.find(self.agent)
        return registration.submit_job(
            target, self.delivery, self.tracker, self.template, hcl, unique, variables, phases
        )

    def stop(self, job_id: str) -> None:
        """Stop and purge the job and wait until its tasks have stopped, as `Stop Job` does by default."""
        deadline = Deadline(STOP_TIMEOUT)
        client = REGISTRY.for_job(job_id, self.agent).client
        pending = removal.stop_jobs(client, [(registration.namespace_of(client), job_id)], True, deadline)
        if pending:
            raise AssertionError(
                f"Allocations still running {deadline} after the job(s) were stopped: {', '.join(pending)}."
            )


def measure_startups(
    job_library: Callable[[], Any],
    template: str,
    variables: dict[str, Any],
    agent: str | None,
    runs: int,
    marker: str,
    timeout: timedelta,
) -> dict[str, Any]:
    """Run the job ``runs`` times one after another; each figure's samples in seconds, and the job ids.

    ``job_library`` gives the NomadJob library whose delivery and tracker the jobs go through.
    """
    if runs < 1:
        raise ValueError(f"runs must be 1 or more, not {runs}.")
    job = _timed_job(job_library(), template, variables, agent)
    client = REGISTRY.client(agent)
    measured: list[StartupRun] = []
    for number in range(1, runs + 1):
        run = measure_once(job, client, marker, timeout)
        logger.info(f"Run {number}/{runs}: {run.describe()}")
        measured.append(run)
    detected = [run for run in measured if run.detect_seconds is not None and run.detect_nomad_seconds is not None]
    result: dict[str, Any] = {
        "started": [run.to_started for run in measured],
        "submit": [run.submit_seconds for run in measured],
        "submit_nomad": [run.submit_nomad_seconds for run in measured],
        **{f"submit_{phase}": [dict(run.submit_phases).get(phase, 0.0) for run in measured] for phase in SUBMIT_PHASES},
        "detect": [run.detect_seconds for run in detected],
        "detect_nomad": [run.detect_nomad_seconds for run in detected],
        "stop": [run.stop_seconds for run in measured],
        "stop_nomad": [run.stop_nomad_seconds for run in measured],
        "jobs": [run.job_id for run in measured],
    }
    for figure in ("submit", "detect", "stop"):
        result[f"{figure}_own"] = [
            total - nomad for total, nomad in zip(result[figure], result[f"{figure}_nomad"], strict=True)
        ]
    if marker:
        result["main"] = [run.to_main for run in measured]
    timings = {name: values for name, values in result.items() if name != "jobs"}
    logger.info(f"Startup times over {runs} run(s):\n{summary(timings)}")
    return result


def measure_once(job: TimedJob, client: NomadClient, marker: str, timeout: timedelta) -> StartupRun:
    """Submit the job, wait until it completed successfully, read its times, stop it."""
    phases: dict[str, float] = {}
    with timed_requests() as in_submit:
        began = time.monotonic()
        job_id = job.submit(phases)
        submitted_in = time.monotonic() - began
    waits.wait_for_job_success(client, job_id, Deadline(timeout))
    noticed = time.time()
    alloc = lookup.select_allocation(client, job_id)
    ended_on_server = alloc.get("ModifyTime", 0) / 1e9
    task = lookup.resolve_task(alloc, None)
    started, terminated = task_timeline(alloc, task)
    main = None
    if marker:
        text = logs.read_log(client, alloc["ID"], task, "stdout")
        main = marker_time(text, marker)
        if main is None:
            raise StartupError(
                f"Task '{task}' of job '{job_id}' printed no line starting with '{marker}'.\n"
                + logs.last_lines_note(text)
            )
    submitted = submit_time(lookup.get_job(client, job_id))
    with timed_requests() as in_stop:
        stopping = time.monotonic()
        job.stop(job_id)
        stopped_in = time.monotonic() - stopping
    detected = None if terminated is None else max(noticed - terminated, 0.0)
    return StartupRun(
        job_id=job_id,
        submitted=submitted,
        started=started,
        main=main,
        submit_seconds=submitted_in,
        detect_seconds=detected,
        stop_seconds=stopped_in,
        submit_nomad_seconds=in_submit.seconds,
        submit_phases=tuple(phases.items()),
        detect_nomad_seconds=None if detected is None else min(max(ended_on_server - terminated, 0.0), detected),
        stop_nomad_seconds=in_stop.seconds,
    )


def measure_concurrent_runs(
    job_library: Callable[[], Any],
    template: str,
    variables: dict[str, Any],
    agent: str | None,
    count: int,
    timeout: timedelta,
) -> dict[str, Any]:
    """Submit ``count`` jobs at once, wait until each completed successfully, stop them all; the times in seconds."""
    if count < 1:
        raise ValueError(f"count must be 1 or more, not {count}.")
    job = _timed_job(job_library(), template, variables, agent)
    client = REGISTRY.client(agent)
    deadline = Deadline(timeout)
    began = time.monotonic()
    submitted = [job.submit() for _ in range(count)]
    for job_id in submitted:
        waits.wait_for_job_success(client, job_id, deadline)
    total = time.monotonic() - began
    durations, first, last = [], None, None
    for job_id in submitted:
        alloc = lookup.select_allocation(client, job_id)
        _, terminated = task_timeline(alloc, lookup.resolve_task(alloc, None))
        at = submit_time(lookup.get_job(client, job_id))
        end = terminated if terminated is not None else at
        durations.append(end - at)
        first = at if first is None else min(first, at)
        last = end if last is None else max(last, end)
    pending = removal.stop_jobs(
        client, [(registration.namespace_of(client), job_id) for job_id in submitted], True, Deadline(timeout)
    )
    if pending:
        raise AssertionError(f"Allocations still running {Deadline(timeout)} after the jobs were stopped: {pending}")
    logger.info(
        f"{count} concurrent job(s) completed in {total:.2f} s ({last - first:.2f} s by Nomad's clock).\n"
        + summary({"per job": durations})
    )
    return {"total": total, "nomad_total": last - first, "durations": durations, "jobs": submitted}


def _timed_job(job_library: Any, template: str, variables: dict[str, Any], agent: str | None) -> TimedJob:
    return TimedJob(job_library.delivery, job_library.tracker, template, variables, agent)

"""How long a job takes to start, by Nomad's own clock and the JVM's.

Nomad stamps a job's ``SubmitTime`` when the server registers it and each task event when the
client records it; the start-probe JAR prints the wall-clock time at which ``main`` was entered
(``main-entered-epoch-us=<microseconds>``). All of them come from this host's clock, so their
differences are the job's start latency as a user sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nomadtest.jobs import lookup
from nomadtest.perf.figures import summarise

# What jars/apps/start-probe prints first thing in main.
START_PROBE_MARKER = "main-entered-epoch-us="


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
    """One measured start: Nomad's and the JVM's times, and the time the framework spent around it."""

    job_id: str
    submitted: float  # Nomad's SubmitTime
    started: float  # the task's first Started event
    main: float | None  # the JVM's marker line, when one was asked for
    submit_seconds: float  # inside Submit Job: render, Nomad's parse, register
    detect_seconds: float | None  # from Nomad's Terminated event to the wait noticing the job complete
    stop_seconds: float  # inside Stop Job: stop, wait for terminal allocations, purge

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
            f"{self.submit_seconds:.3f} s, stop {self.stop_seconds:.3f} s"
            + (
                f", noticed completion {self.detect_seconds:.3f} s after Nomad"
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

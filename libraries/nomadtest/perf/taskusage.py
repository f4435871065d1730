"""A task's resource usage read, sampled and judged against limits: the procedures behind Performance's usage keywords.

Each series sampled is also kept (``kept``, the library's list) for the plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from robot.api import logger

from nomadtest.api.client import NomadClient
from nomadtest.jobs import lookup, waits
from nomadtest.listener import current_owner
from nomadtest.perf import usage
from nomadtest.perf.figures import parse_tolerance, percent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline

# How long to wait for the task to start and for Nomad's first reading of it.
FIRST_READING_TIMEOUT = timedelta(seconds=30)
# Below this share of its limit a task did not try to use CPU, and "held to its limit" would say nothing.
IDLE_SHARE = 0.10


@dataclass(frozen=True)
class TaskWindow:
    """Which task to judge (the job's only one, or ``task``, in its latest allocation or ``alloc_id``) and over what.

    The readings are ``given`` (a series sampled earlier) or, without them, sampled when judged:
    every ``interval`` for ``duration``.
    """

    job_id: str
    task: str | None
    alloc_id: str | None
    agent: str | None
    duration: timedelta
    interval: timedelta
    given: list[dict[str, Any]] | None = None


def current_reading(
    job_id: str, task: str | None, alloc_id: str | None, timeout: timedelta, agent: str | None
) -> dict[str, Any]:
    """The task's latest reading, once it started and Nomad has one (both within ``timeout``)."""
    client, alloc, name = _started_task(job_id, task, alloc_id, Deadline(timeout), agent)
    reading = _first_reading(client, alloc, name, Deadline(timeout))
    logger.info(f"Resource usage of task '{name}' (allocation {lookup.short(alloc['ID'])}): {_brief(reading)}")
    return reading


def sample(window: TaskWindow, label: str | None, timeout: timedelta, kept: list[usage.Series]) -> usage.Series:
    """Sample the task from Nomad's first reading of it on (waited for up to ``timeout``), or until it ends."""
    return sample_together([window], [label], timeout, kept)[0]


def sample_together(
    windows: list[TaskWindow], labels: list[str | None], timeout: timedelta, kept: list[usage.Series]
) -> list[usage.Series]:
    """Sample the tasks over the same seconds, once Nomad has a reading of each (each waited for up to ``timeout``).

    The windows share the first one's duration and interval.
    """
    length = Deadline(windows[0].duration).seconds
    step = Deadline(windows[0].interval).seconds
    ready = [_ready_to_sample(window, label, timeout) for window, label in zip(windows, labels, strict=True)]
    sampled = [each for each, _ in ready]
    usage.sample_series(sampled, length, step)
    for each, first in ready:
        if not each.series.samples:  # it ended before the first tick: its one reading is all there is
            each.series.add(first)
        kept.append(each.series)
        _log_sampled(each.series)
    return [each.series for each in sampled]


def _ready_to_sample(window: TaskWindow, label: str | None, timeout: timedelta) -> tuple[usage.Sampled, dict[str, Any]]:
    """The task's empty series and Nomad's first reading of it, once it started and was read (each within ``timeout``).

    The first reading is kept aside: sampling reads every task at its first tick, so that all
    series start together.
    """
    client, alloc, name = _started_task(window.job_id, window.task, window.alloc_id, Deadline(timeout), window.agent)
    first = _first_reading(client, alloc, name, Deadline(timeout))
    series = usage.Series(
        label=label or window.job_id,
        job_id=window.job_id,
        alloc_id=alloc["ID"],
        task=name,
        limits=usage.task_limits(alloc, name),
        owner=current_owner(),
    )
    return usage.Sampled(series, client, lambda: _task_state(client, alloc["ID"], name)), first


def _log_sampled(series: usage.Series) -> None:
    ended = f"; sampling ended early: {series.ended_early}" if series.ended_early else ""
    logger.info(
        f"Sampled task '{series.task}' (allocation {lookup.short(series.alloc_id)}) {len(series.samples)} time(s) "
        f"over {series.samples[-1]['elapsed']:.1f} s{ended}. Limits: memory {usage.mib(series.limits.memory)}, "
        f"CPU {series.limits.cpu_mhz:.0f} MHz.\n{usage.describe_samples(series.samples)}"
    )


def memory_should_stay_below(window: TaskWindow, limit: str | None, measure: str, kept: list[usage.Series]) -> int:
    """The peak of ``memory_<measure>``; fails when it reached ``limit`` (default: the task's own)."""
    judged = _judged(window, "memory check", kept)
    bound = usage.parse_size(limit) if limit is not None else judged.limits.memory
    if not bound:
        raise AssertionError(f"Task '{judged.task}' has no memory limit to compare with: give limit=<size>.")
    peak = usage.memory_peak(judged.samples, measure)
    value = peak[f"memory_{measure}"]
    where = _where(judged)
    if value >= bound:
        raise usage.UsageError(
            f"Memory {measure} of {where} reached {usage.mib(value)} after {peak['elapsed']:.1f} s, "
            f"not below {usage.mib(bound)}.\n{usage.describe_samples(judged.samples)}"
        )
    logger.info(
        f"Memory {measure} of {where} peaked at {usage.mib(value)}, below {usage.mib(bound)} "
        f"({len(judged.samples)} samples over {judged.samples[-1]['elapsed']:.1f} s)."
    )
    return value


def cpu_should_stay_below(window: TaskWindow, limit: str | None, statistic: str, kept: list[usage.Series]) -> float:
    """The ``statistic`` of the task's CPU use; fails unless it is below ``limit`` (default: its MHz)."""
    judged = _judged(window, "CPU check", kept)
    bound = _cpu_bound(judged, limit)
    value = usage.cpu_figure(judged.samples, bound.key, statistic)
    shown = usage.CpuLimit(value, bound.unit)
    where = _where(judged)
    if value >= bound.value:
        raise usage.UsageError(
            f"CPU use of {where} ({statistic} over {judged.samples[-1]['elapsed']:.1f} s) was {shown}, "
            f"not below {bound}.\n{usage.describe_samples(judged.samples)}"
        )
    logger.info(f"CPU use of {where} ({statistic}) was {shown}, below {bound}.")
    return value


def should_be_held_to_cpu_limit(
    window: TaskWindow, limit: str | None, tolerance: str, kept: list[usage.Series]
) -> float:
    """The task's mean CPU use; fails when it exceeds ``limit`` by more than ``tolerance``, or hardly used CPU."""
    judged = _judged(window, "CPU limit check", kept)
    bound = _cpu_bound(judged, limit)
    if not bound.value:
        raise AssertionError(f"Task '{judged.task}' has no CPU limit to compare with: give limit=<MHz>.")
    allowed = parse_tolerance(tolerance)
    mean = usage.cpu_figure(judged.samples, bound.key, "mean")
    periods, seconds = usage.throttled_during(judged.samples)
    where = _where(judged)
    used = f"{usage.CpuLimit(mean, bound.unit)} on average over {judged.samples[-1]['elapsed']:.1f} s"
    throttled = f"throttled in {periods} CFS period(s), {seconds:.2f} s" if periods else "never throttled"
    if mean > bound.value * (1 + allowed):
        hint = (
            "\nNo CFS quota held it: for this driver the task's cpu is a weight (cpu.shares), which "
            "binds only under contention."
            if not periods
            else ""
        )
        raise usage.UsageError(
            f"CPU use of {where} was {used}, above its limit of {bound} + {percent(allowed)}; {throttled}.{hint}\n"
            + usage.describe_samples(judged.samples)
        )
    if mean < bound.value * IDLE_SHARE:
        raise usage.UsageError(
            f"CPU use of {where} was {used}, under a tenth of its limit of {bound}: it did not try to use "
            f"more than its limit, so this proves nothing. Give it work that keeps more cores busy.\n"
            + usage.describe_samples(judged.samples)
        )
    logger.info(f"CPU use of {where} was {used}, held to its limit of {bound} (+{percent(allowed)}); {throttled}.")
    return mean


def _judged(window: TaskWindow, purpose: str, kept: list[usage.Series]) -> usage.Series:
    """The readings given, or sampled now under the check's name (``purpose``)."""
    if window.given is None:
        return sample(window, purpose, FIRST_READING_TIMEOUT, kept)
    if not window.given:
        raise AssertionError("The series given has no samples.")
    client = REGISTRY.client(window.agent)
    alloc = lookup.select_allocation(client, window.job_id, window.alloc_id)
    name = lookup.resolve_task(alloc, window.task)
    limits = usage.task_limits(alloc, name)
    return usage.Series(window.job_id, window.job_id, alloc["ID"], name, limits, samples=list(window.given))


def _cpu_bound(judged: usage.Series, limit: str | None) -> usage.CpuLimit:
    return usage.parse_cpu(limit) if limit is not None else usage.CpuLimit(judged.limits.cpu_mhz, "MHz")


def _where(judged: usage.Series) -> str:
    return f"task '{judged.task}' (allocation {lookup.short(judged.alloc_id)})"


def _started_task(
    job_id: str, task: str | None, alloc_id: str | None, deadline: Deadline, agent: str | None
) -> tuple[NomadClient, dict, str]:
    client = REGISTRY.client(agent)
    alloc, name = waits.wait_for_task_started(client, job_id, deadline, task, alloc_id)
    return client, alloc, name


def _first_reading(client: NomadClient, alloc: dict, task: str, deadline: Deadline) -> dict:
    return usage.wait_for_first_reading(
        client,
        alloc["ID"],
        task,
        deadline,
        task_state=lambda: _task_state(client, alloc["ID"], task),
        telemetry=lambda: usage.publishes_allocation_metrics(client),
    )


def _task_state(client: NomadClient, alloc_id: str, task: str) -> dict | None:
    return lookup.task_state(lookup.get_allocation(client, alloc_id), task)


def _brief(reading: dict[str, Any]) -> str:
    return (
        f"memory usage {usage.mib(reading['memory_usage'])}, RSS {usage.mib(reading['memory_rss'])}, "
        f"cache {usage.mib(reading['memory_cache'])}, max {usage.mib(reading['memory_max_usage'])}; CPU "
        f"{reading['cpu_percent']:.1f}% of a core ({reading['cpu_total_ticks']:.0f} MHz), throttled "
        f"{reading['cpu_throttled_periods']} period(s)"
    )

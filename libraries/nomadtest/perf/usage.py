"""A task's resource usage as Nomad reports it, sampled over time and judged against limits.

Nomad's client asks the driver for ``TaskStats`` at the agent's telemetry collection interval and
answers ``/v1/client/allocation/<id>/stats`` with the latest figures: memory (RSS, cache, usage,
max usage, swap, in bytes) and CPU (percent of one core, total ticks in MHz, user and system
percent, throttled periods and time). It collects them only when the agent's config has
``telemetry { publish_allocation_metrics = true }``; without it the task is missing from the answer.

Sampling at an interval over a duration is measurement, not synchronisation: it always takes the
whole duration unless the task ends first.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from nomadtest.api.client import NomadAPIError, NomadClient, api_path
from nomadtest.jobs import lookup
from nomadtest.perf.figures import percentile
from nomadtest.waiting import Deadline, Done, Impossible, Outcome, Pending, poll

MIB = 2**20
# How often the first reading is asked for while the client has none yet.
FIRST_READING_POLL_SECONDS = 0.2
TELEMETRY_HINT = (
    "Nomad collects task statistics only when the agent's config has "
    "telemetry { publish_allocation_metrics = true } (Start Nomad Server    extra_hcl=...)"
)
_SIZE = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+)\s*(?P<unit>[KMGT]i?B|B|bytes)?\s*$", re.IGNORECASE)
_CPU = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+)\s*(?P<unit>MHz|GHz|%)?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {"b": 1, "bytes": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

MEMORY_MEASURES = ("usage", "rss", "cache", "max_usage", "swap")
CPU_STATISTICS = ("mean", "median", "p90", "max")


class UsageError(AssertionError):
    """Resource usage could not be read, or broke a limit; the message has the figures."""

    ROBOT_SUPPRESS_NAME = True


# -- units ------------------------------------------------------------------------------------------


def parse_size(value: str | int | float) -> int:
    """``256 MB``, ``64MiB``, ``1.5 GiB`` or a number of bytes, as bytes.

    MB and MiB are both 2**20 bytes, as in Nomad's ``memory = 256`` (MB).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    found = _SIZE.match(str(value))
    if not found:
        raise ValueError(f"Size {value!r} is not a size such as 256 MB, 64 MiB or a number of bytes.")
    unit = (found["unit"] or "b").lower()
    return int(float(found["number"]) * _SIZE_FACTORS[unit if unit == "bytes" else unit[0]])


@dataclass(frozen=True)
class CpuLimit:
    """A CPU figure as Nomad's MHz (``500 MHz``) or as percent of one core (``150%``)."""

    value: float
    unit: str  # "MHz" or "%"

    @property
    def key(self) -> str:
        return "cpu_total_ticks" if self.unit == "MHz" else "cpu_percent"

    def __str__(self) -> str:
        return f"{self.value:.0f} MHz" if self.unit == "MHz" else f"{self.value:.0f}% of a core"


def parse_cpu(value: str | int | float) -> CpuLimit:
    """``500 MHz``, ``1.2 GHz``, ``150%`` (of one core) or a number of MHz."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return CpuLimit(float(value), "MHz")
    found = _CPU.match(str(value))
    if not found:
        raise ValueError(f"CPU {value!r} is not a figure such as 500 MHz, 1.2 GHz or 150% (of one core).")
    number = float(found["number"])
    unit = (found["unit"] or "MHz").lower()
    if unit == "%":
        return CpuLimit(number, "%")
    return CpuLimit(number * (1000 if unit == "ghz" else 1), "MHz")


def mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


# -- readings ----------------------------------------------------------------------------------------


def sample_from_stats(stats: dict[str, Any], task: str) -> dict[str, Any] | None:
    """One reading of ``task`` from an allocation stats answer; None when Nomad has none for it."""
    entry = (stats.get("Tasks") or {}).get(task)
    if not entry or not entry.get("Timestamp"):
        return None
    usage = entry.get("ResourceUsage") or {}
    memory = usage.get("MemoryStats") or {}
    cpu = usage.get("CpuStats") or {}
    return {
        "timestamp": entry["Timestamp"] / 1e9,
        "memory_rss": int(memory.get("RSS") or 0),
        "memory_cache": int(memory.get("Cache") or 0),
        "memory_usage": int(memory.get("Usage") or 0),
        "memory_max_usage": int(memory.get("MaxUsage") or 0),
        "memory_swap": int(memory.get("Swap") or 0),
        "cpu_percent": float(cpu.get("Percent") or 0.0),
        "cpu_total_ticks": float(cpu.get("TotalTicks") or 0.0),
        "cpu_user_percent": float(cpu.get("UserMode") or 0.0),
        "cpu_system_percent": float(cpu.get("SystemMode") or 0.0),
        "cpu_throttled_periods": int(cpu.get("ThrottledPeriods") or 0),
        "cpu_throttled_time": float(cpu.get("ThrottledTime") or 0) / 1e9,
        "measured": sorted({*(memory.get("Measured") or []), *(cpu.get("Measured") or [])}),
    }


def read_usage(client: NomadClient, alloc_id: str, task: str) -> dict[str, Any] | None:
    """The latest reading Nomad holds for the task; None when it has none (yet, or any more)."""
    try:
        stats = client.get(api_path("client", "allocation", alloc_id, "stats"))
    except NomadAPIError as error:
        if error.status == 404:
            return None
        raise
    return sample_from_stats(stats or {}, task)


def publishes_allocation_metrics(client: NomadClient) -> bool | None:
    """Whether the agent publishes allocation metrics (None when its config cannot be read)."""
    try:
        config = (client.get("/v1/agent/self") or {}).get("config") or {}
    except (NomadAPIError, requests.RequestException):
        return None
    telemetry = config.get("Telemetry") or {}
    return bool(telemetry.get("PublishAllocationMetrics")) if telemetry else None


@dataclass(frozen=True)
class TaskLimits:
    """What the task was given: memory (bytes, the hard limit), CPU (MHz) and reserved cores."""

    memory: int
    cpu_mhz: float
    reserved_cores: tuple[int, ...] = ()


def task_limits(alloc: dict, task: str) -> TaskLimits:
    """The task's memory limit (memory_max when set) and CPU from the allocation's resources."""
    resources = ((alloc.get("AllocatedResources") or {}).get("Tasks") or {}).get(task) or {}
    memory = resources.get("Memory") or {}
    cpu = resources.get("Cpu") or {}
    limit_mb = memory.get("MemoryMaxMB") or memory.get("MemoryMB") or 0
    return TaskLimits(
        memory=int(limit_mb) * MIB,
        cpu_mhz=float(cpu.get("CpuShares") or 0),
        reserved_cores=tuple(cpu.get("ReservedCores") or ()),
    )


@dataclass
class Series:
    """Readings of one task over a window, with what it was given; ``label`` names it in plots."""

    label: str
    job_id: str
    alloc_id: str
    task: str
    limits: TaskLimits
    samples: list[dict[str, Any]] = field(default_factory=list)
    ended_early: str = ""  # why sampling stopped before the window's end
    owner: str = ""

    def add(self, sample: dict[str, Any]) -> bool:
        """Keep ``sample`` unless it repeats the previous reading (same Nomad timestamp)."""
        if self.samples and self.samples[-1]["timestamp"] == sample["timestamp"]:
            return False
        start = self.samples[0]["timestamp"] if self.samples else sample["timestamp"]
        self.samples.append({**sample, "elapsed": round(sample["timestamp"] - start, 3)})
        return True


def wait_for_first_reading(
    client: NomadClient,
    alloc_id: str,
    task: str,
    deadline: Deadline,
    task_state: Callable[[], dict | None],
    telemetry: Callable[[], bool | None],
) -> dict[str, Any]:
    """The first reading of the task, waiting for the client to collect one."""

    def check() -> Outcome:
        sample = read_usage(client, alloc_id, task)
        if sample is not None:
            return Done(sample)
        state = task_state() or {}
        if state.get("State") == "dead":
            return Impossible(f"task '{task}' is dead")
        return Pending(f"task '{task}' {state.get('State', 'not received')}, no reading yet")

    outcome = poll(check, deadline, FIRST_READING_POLL_SECONDS)
    if isinstance(outcome, Done):
        return outcome.value
    reason = outcome.reason if isinstance(outcome, Impossible) else f"none within {deadline}; {outcome.status}"
    hint = f"\n{TELEMETRY_HINT}." if telemetry() is False else ""
    raise UsageError(
        f"Nomad has no resource usage of task '{task}' in allocation {lookup.short(alloc_id)}: {reason}.{hint}"
    )


@dataclass
class Sampled:
    """A series being sampled: where its task's readings come from and how to tell that it ended."""

    series: Series
    client: NomadClient
    task_state: Callable[[], dict | None]


def sample_series(
    sampled: list[Sampled],
    duration: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Read every task's usage at each ``interval`` for ``duration`` seconds, until each ends.

    All tasks are read at each tick, one after the other, so that their readings cover the same
    seconds: load beside them that changes meanwhile weighs on all alike.
    """
    if interval <= 0:
        raise ValueError("The sampling interval must be more than 0 seconds.")
    start = clock()
    tick = 0
    live = list(sampled)
    while live:
        for each in list(live):
            if not _read_into(each):
                each.series.ended_early = f"task '{each.series.task}' ended after {clock() - start:.1f} s"
                live.remove(each)
        tick += 1
        next_at = start + tick * interval
        if next_at > start + duration + 1e-9:
            return
        sleep(max(next_at - clock(), 0.0))


def _read_into(sampled: Sampled) -> bool:
    """Add the task's latest reading to its series; False once the task ended."""
    sample = read_usage(sampled.client, sampled.series.alloc_id, sampled.series.task)
    if sample is not None:
        sampled.series.add(sample)
        return True
    state = sampled.task_state() or {}
    return bool(state) and state.get("State") != "dead"


# -- judging ---------------------------------------------------------------------------------------------


def memory_peak(samples: list[dict[str, Any]], measure: str) -> dict[str, Any]:
    """The sample with the highest ``memory_<measure>``."""
    if measure not in MEMORY_MEASURES:
        raise ValueError(f"Memory measure must be one of {', '.join(MEMORY_MEASURES)}, not '{measure}'.")
    if not samples:
        raise UsageError("No resource usage was sampled.")
    return max(samples, key=lambda sample: sample[f"memory_{measure}"])


def cpu_figure(samples: list[dict[str, Any]], key: str, statistic: str) -> float:
    """The ``statistic`` (mean, median, p90, max) of ``key`` over the samples that measured CPU.

    The driver's first reading of a task has no previous one to compute a rate from and says 0;
    it is left out when there are others.
    """
    if statistic not in CPU_STATISTICS:
        raise ValueError(f"CPU statistic must be one of {', '.join(CPU_STATISTICS)}, not '{statistic}'.")
    values = [sample[key] for sample in samples]
    if len(values) > 1 and values[0] == 0:
        values = values[1:]
    if not values:
        raise UsageError("No resource usage was sampled.")
    if statistic == "mean":
        return statistics.fmean(values)
    if statistic == "median":
        return statistics.median(values)
    if statistic == "max":
        return max(values)
    return percentile(values, 0.9)


def throttled_during(samples: list[dict[str, Any]]) -> tuple[int, float]:
    """How many CFS periods and seconds the task was throttled during the samples' window."""
    if len(samples) < 2:
        return 0, 0.0
    return (
        samples[-1]["cpu_throttled_periods"] - samples[0]["cpu_throttled_periods"],
        samples[-1]["cpu_throttled_time"] - samples[0]["cpu_throttled_time"],
    )


def describe_samples(samples: list[dict[str, Any]], limit: int = 30) -> str:
    """One line per sample (the last ``limit``), for failure messages and the log."""
    lines = [
        f"{sample['elapsed']:6.1f} s  usage {mib(sample['memory_usage']):>11}  rss {mib(sample['memory_rss']):>11}  "
        f"cpu {sample['cpu_total_ticks']:7.0f} MHz {sample['cpu_percent']:6.1f}%  "
        f"throttled {sample['cpu_throttled_periods']}"
        for sample in samples[-limit:]
    ]
    skipped = len(samples) - len(lines)
    return (f"({skipped} earlier samples not shown)\n" if skipped > 0 else "") + "\n".join(lines)

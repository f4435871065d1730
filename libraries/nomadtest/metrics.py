"""Performance metrics: their statistics, the run's ``metrics.json``, baselines and regression checks.

A metric is a name, a unit and samples (seconds, MiB...). Each run of a test process appends one
run record to ``metrics.json``: when and where it ran (git commit, host facts, driver) and every
metric it recorded, with median, p90 and the samples themselves, so a team can chart them over
time. Writers take an exclusive lock on a file beside it and replace the file atomically, so pabot
workers of one run share one record and a crash never leaves half a file.

A baseline (``bench/baseline.json``) holds a median and a tolerance per metric; a metric has
regressed when its median is worse than the baseline's by more than the tolerance.

Nothing here logs to Robot Framework: the keyword library does, so this module stays testable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import platform
import re
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

FORMAT = 1
METRICS_FILE_NAME = "metrics.json"
DEFAULT_TOLERANCE = 0.20
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_TOLERANCE = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+)\s*(?P<percent>%?)\s*$")


class MetricError(ValueError):
    """A metric, metrics file or baseline that cannot be used; the message says why."""


# -- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0.9 for p90), linearly interpolated between the closest ranks."""
    if not values:
        raise MetricError("A percentile of no samples does not exist.")
    if not 0 <= fraction <= 1:
        raise MetricError(f"A percentile is between 0 and 1, not {fraction}.")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(samples: Sequence[float]) -> dict[str, float | int]:
    """Count, median, p90, mean, min and max of ``samples``."""
    if not samples:
        raise MetricError("A metric needs at least one sample.")
    return {
        "count": len(samples),
        "median": statistics.median(samples),
        "p90": percentile(samples, 0.9),
        "mean": statistics.fmean(samples),
        "min": min(samples),
        "max": max(samples),
    }


def as_samples(value: Any) -> list[float]:
    """A number, a numeric string or a list of them as a list of floats; anything else is an error."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    samples = []
    for item in values:
        if isinstance(item, bool):
            raise MetricError(f"A metric sample must be a number, not {item!r}.")
        try:
            number = float(item)
        except (TypeError, ValueError):
            raise MetricError(f"A metric sample must be a number, not {item!r}.") from None
        if not math.isfinite(number):
            raise MetricError(f"A metric sample must be finite, not {item!r}.")
        samples.append(number)
    if not samples:
        raise MetricError("A metric needs at least one sample.")
    return samples


def check_name(name: str) -> str:
    if not _NAME.match(str(name)):
        raise MetricError(
            f"Metric name {name!r} is not usable: use letters, digits and _ . : / - (such as startup_to_main)."
        )
    return str(name)


def parse_tolerance(value: str | float | int) -> float:
    """``20%`` or ``0.2`` as the fraction 0.2; negative or malformed values are errors."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        found = _TOLERANCE.match(str(value))
        if not found:
            raise MetricError(f"Tolerance {value!r} is not a percentage such as 20% or a fraction such as 0.2.")
        number = float(found["number"]) / (100 if found["percent"] else 1)
    if number < 0 or not math.isfinite(number):
        raise MetricError(f"Tolerance {value!r} must be zero or more.")
    return number


def percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%" if abs(fraction * 100 - round(fraction * 100)) < 1e-9 else f"{fraction * 100:.1f}%"


def figure(value: float, unit: str) -> str:
    """A value with its unit, to four significant digits: ``0.6123 s``, ``142.3 MiB``."""
    return f"{value:.4g} {unit}".strip()


# -- records ---------------------------------------------------------------------------------------


@dataclass
class Metric:
    """One metric of one run: every sample recorded under its name, in order."""

    name: str
    unit: str
    samples: list[float]
    higher_is_better: bool = False
    owner: str = ""  # the suite or test that recorded it first
    recorded_at: float = 0.0
    load_average: list[float] | None = None  # the host's load when it was last recorded

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def add(self, samples: Iterable[float], unit: str) -> None:
        if unit != self.unit:
            raise MetricError(
                f"Metric '{self.name}' is recorded in {self.unit or 'no unit'}, not {unit or 'no unit'}: "
                "one metric keeps one unit."
            )
        self.samples.extend(samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            **summarise(self.samples),
            "samples": list(self.samples),
            "higher_is_better": self.higher_is_better,
            "recorded_by": self.owner,
            "recorded_at": iso_time(self.recorded_at),
            "load_average": self.load_average,
        }

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Metric:
        return cls(
            name=name,
            unit=str(data.get("unit", "")),
            samples=as_samples(data.get("samples") or []),
            higher_is_better=bool(data.get("higher_is_better", False)),
            owner=str(data.get("recorded_by", "")),
        )

    def describe(self) -> str:
        stats = summarise(self.samples)
        return (
            f"{self.name}: median {figure(stats['median'], self.unit)}, p90 {figure(stats['p90'], self.unit)}, "
            f"min {figure(stats['min'], self.unit)}, max {figure(stats['max'], self.unit)}, n={stats['count']}"
        )


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RunIdentity:
    """Which run a process belongs to: pabot's workers share the run of the pabot process."""

    run_id: str
    started_at: float


def run_identity(under_pabot: bool, pid: int | None = None) -> RunIdentity:
    """The run of this process, or of the pabot process that started it (through a shell) for a pabot worker."""
    owner = pid or (_pabot_ancestor() if under_pabot else None) or os.getpid()
    try:
        started = psutil.Process(owner).create_time()
    except psutil.Error:
        started = time.time()
    return RunIdentity(f"{socket.gethostname()}-{owner}-{int(started)}", started)


def _pabot_ancestor() -> int | None:
    """The ``pabot`` process above this one: ``pabot ...``, ``python .../pabot ...`` or ``python -m pabot``."""
    try:
        for parent in psutil.Process().parents():
            command = parent.cmdline()
            if "pabot" in [Path(part).name for part in command[:2]] or command[1:3] in (
                ["-m", "pabot"],
                ["-m", "pabot.pabot"],
            ):
                return parent.pid
    except psutil.Error:
        pass
    return None


# -- host facts --------------------------------------------------------------------------------------


def git_facts(checkout: Path) -> dict[str, Any]:
    """The commit checked out in ``checkout`` and whether the work tree has changes; empty outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return {"git_commit": None}
        status = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}


def host_facts() -> dict[str, Any]:
    """What decides how fast things run here: CPU, memory, kernel, OS, Python and Robot versions."""
    from robot.version import get_version  # here, so that this module imports without Robot Framework

    facts: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "os": _os_name(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_mib": psutil.virtual_memory().total // 2**20,
        "python": platform.python_version(),
        "robot_framework": get_version(),
    }
    facts.update(_cpu_model())
    return facts


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _cpu_model() -> dict[str, Any]:
    facts: dict[str, Any] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and "cpu_model" not in facts:
                facts["cpu_model"] = value.strip()
            elif key == "cpu MHz" and "cpu_mhz" not in facts:
                facts["cpu_mhz"] = round(float(value))
    except (OSError, ValueError):
        pass
    return facts


# -- metrics.json ------------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<path>.lock`` for a read-modify-write of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise MetricError(f"{what} {path} does not exist.") from None
    except (OSError, ValueError) as error:
        raise MetricError(f"{what} {path} cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise MetricError(f"{what} {path} is not a JSON object.")
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` through a temporary file, so readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    os.replace(temporary, path)


def load_runs(path: Path) -> list[dict[str, Any]]:
    """The run records of a metrics file, oldest first; a missing file has none."""
    if not path.exists():
        return []
    data = read_json(path, "Metrics file")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise MetricError(f"Metrics file {path} has no list of runs.")
    return runs


def save_run(path: Path, run: dict[str, Any], metric: Metric) -> None:
    """Add or replace ``metric`` in the record of ``run`` (by its ``run`` id), creating either if needed.

    A file that is not a metrics file is moved aside (``<name>.unreadable-<time>``) rather than lost.
    """
    with locked(path):
        try:
            runs = load_runs(path)
        except MetricError:
            path.replace(path.with_name(f"{path.name}.unreadable-{int(time.time())}"))
            runs = []
        record = next((entry for entry in runs if entry.get("run") == run["run"]), None)
        if record is None:
            record = {**run, "metrics": {}}
            runs.append(record)
        record.setdefault("metrics", {})[metric.name] = metric.to_json()
        write_json(path, {"format": FORMAT, "runs": runs})


def latest_metrics(runs: Iterable[dict[str, Any]]) -> dict[str, tuple[Metric, dict[str, Any]]]:
    """Each metric's most recent record over ``runs`` (oldest first), with the run that has it."""
    latest: dict[str, tuple[Metric, dict[str, Any]]] = {}
    for run in runs:
        for name, data in (run.get("metrics") or {}).items():
            latest[name] = (Metric.from_json(name, data), run)
    return latest


# -- baselines ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A metric's median against its baseline's."""

    name: str
    unit: str
    current: float
    baseline: float
    tolerance: float
    higher_is_better: bool

    @property
    def change(self) -> float:
        """Relative change of the median; positive is larger."""
        if self.baseline == 0:
            return 0.0 if self.current == 0 else math.copysign(math.inf, self.current)
        return (self.current - self.baseline) / abs(self.baseline)

    @property
    def regressed(self) -> bool:
        worse = -self.change if self.higher_is_better else self.change
        return worse > self.tolerance + 1e-12

    @property
    def ratio(self) -> float:
        return self.current / self.baseline if self.baseline else math.inf

    def describe(self) -> str:
        verdict = "regressed" if self.regressed else "within tolerance"
        direction = "higher" if self.higher_is_better else "lower"
        return (
            f"Metric '{self.name}' {verdict}: median {figure(self.current, self.unit)} now, baseline "
            f"{figure(self.baseline, self.unit)} ({self.change:+.1%}; {direction} is better, "
            f"tolerance {percent(self.tolerance)})"
        )


def load_baseline(path: Path) -> dict[str, Any]:
    data = read_json(path, "Baseline")
    if not isinstance(data.get("metrics"), dict):
        raise MetricError(f"Baseline {path} has no 'metrics' object.")
    return data


def compare(metric: Metric, baseline: dict[str, Any], tolerance: float | None = None) -> Comparison:
    """``metric``'s median against the baseline file's entry for it; ``tolerance`` overrides the file's."""
    entry = baseline["metrics"].get(metric.name)
    if entry is None:
        known = ", ".join(sorted(baseline["metrics"])) or "none"
        raise MetricError(f"The baseline has no metric '{metric.name}' (it has: {known}).")
    unit = str(entry.get("unit", ""))
    if unit != metric.unit:
        raise MetricError(
            f"Metric '{metric.name}' is in {metric.unit or 'no unit'} but its baseline in {unit or 'no unit'}."
        )
    given = entry.get("tolerance")
    chosen = tolerance if tolerance is not None else parse_tolerance(DEFAULT_TOLERANCE if given is None else given)
    return Comparison(
        name=metric.name,
        unit=metric.unit,
        current=metric.median,
        baseline=float(entry["median"]),
        tolerance=chosen,
        higher_is_better=bool(entry.get("higher_is_better", metric.higher_is_better)),
    )


def baseline_entry(metric: Metric, tolerance: float) -> dict[str, Any]:
    stats = summarise(metric.samples)
    return {
        "median": stats["median"],
        "p90": stats["p90"],
        "count": stats["count"],
        "unit": metric.unit,
        "tolerance": tolerance,
        "higher_is_better": metric.higher_is_better,
    }


def make_baseline(
    metrics: Iterable[Metric],
    tolerance: float,
    run: dict[str, Any],
    tolerances: dict[str, float] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """A baseline of the metrics' medians, with where and when they were measured."""
    entries = {
        metric.name: baseline_entry(metric, (tolerances or {}).get(metric.name, tolerance))
        for metric in sorted(metrics, key=lambda item: item.name)
    }
    if not entries:
        raise MetricError("A baseline needs at least one metric.")
    facts = {key: run[key] for key in ("run", "started_at", "git_commit", "git_dirty", "driver", "host") if key in run}
    return {"format": FORMAT, "created_at": iso_time(time.time()), "note": note, **facts, "metrics": entries}


def merge_baseline(existing: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``existing``: metrics not measured this time keep their older entries."""
    if not existing:
        return new
    return {**new, "metrics": {**existing.get("metrics", {}), **new["metrics"]}}


def check_all(
    latest: dict[str, tuple[Metric, dict[str, Any]]], baseline: dict[str, Any]
) -> tuple[list[Comparison], list[str]]:
    """Every baseline metric's comparison with its latest record, and the baseline metrics never recorded."""
    comparisons, missing = [], []
    for name in sorted(baseline["metrics"]):
        if name not in latest:
            missing.append(name)
            continue
        comparisons.append(compare(latest[name][0], baseline))
    return comparisons, missing


# -- one process's metrics ------------------------------------------------------------------------------


class Recorder:
    """The metrics this process recorded, each also written to the metrics file as soon as it changes.

    ``path`` and ``run`` are asked for when first needed: the output dir and the run's facts are
    known only once Robot Framework runs.
    """

    def __init__(self, path: Callable[[], Path], run: Callable[[], dict[str, Any]]) -> None:
        self._path = path
        self._run_facts = run
        self._run: dict[str, Any] | None = None
        self.metrics: dict[str, Metric] = {}

    @property
    def path(self) -> Path:
        return self._path()

    @property
    def run(self) -> dict[str, Any]:
        if self._run is None:
            self._run = self._run_facts()
        return self._run

    def record(self, name: str, value: Any, unit: str = "", higher_is_better: bool = False, owner: str = "") -> Metric:
        name = check_name(name)
        samples = as_samples(value)
        metric = self.metrics.get(name)
        if metric is None:
            metric = Metric(name, unit, [], higher_is_better, owner, time.time())
            metric.add(samples, unit)
            self.metrics[name] = metric
        else:
            metric.add(samples, unit)
        metric.load_average = list(os.getloadavg())
        save_run(self.path, self.run, metric)
        return metric

    def find(self, name: str) -> Metric:
        """This process's metric, else the latest record of it in the metrics file (another pabot worker's)."""
        if name in self.metrics:
            return self.metrics[name]
        latest = latest_metrics(load_runs(self.path)) if self.path.exists() else {}
        if name in latest:
            return latest[name][0]
        known = ", ".join(sorted({*self.metrics, *latest})) or "none"
        raise MetricError(f"No metric '{name}' was recorded (recorded: {known}); record it with Record Metric.")

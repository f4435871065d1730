"""The bench's regression gate: ratios to references measured in the same run, absolutes on a like host only.

A gated figure is a ratio of two medians recorded in the same bench run: crunjar's start over
``raw_exec``'s and bare ``java -jar``'s, the framework's time per job over Nomad's part of the same
calls, a JVM task's memory over the JVM's own. A slower or faster host moves both sides alike, so
the ratio moves only when our code does. Each ratio's tolerance comes from its spread over repeated
runs on one machine (:func:`make_baseline` of three runs): ``max(factor * spread, floor)``. The
spread is ``(max - min) / median`` of the ratio over those runs, or, when larger, the range that
many runs are expected to show given each run's own sampling error (a bootstrap of its samples):
three runs can agree by chance more closely than their samples allow.

Absolute figures (seconds, MiB) are kept beside the ratios and compared only when the host's
fingerprint (CPU model, cores, kernel) is the baseline's; even then they are reported, not gated:
the same kind of machine can be slower on another day.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nomadtest.perf.figures import Metric, MetricError
from nomadtest.perf.runfacts import iso_time
from nomadtest.perf.store import FORMAT

# name: (numerator metric, reference metric), both recorded by one process of the run.
RATIOS: dict[str, tuple[str, str]] = {
    "start_crunjar_to_raw_exec": ("start_latency_crunjar", "start_latency_raw_exec"),
    "start_crunjar_to_direct": ("start_latency_crunjar", "start_latency_direct"),
    "framework_submit_to_nomad": ("framework_submit", "framework_submit_nomad"),
    "framework_detect_to_nomad": ("framework_detect", "framework_detect_nomad"),
    "framework_stop_to_nomad": ("framework_stop", "framework_stop_nomad"),
    "jvm_task_usage_to_rss": ("heap_capped_jvm_peak_usage", "heap_capped_jvm_peak_rss"),
    "driver_plugin_rss_to_agent": ("driver_plugin_rss", "nomad_agent_rss"),
}
FINGERPRINT_KEYS = ("cpu_model", "cpus", "kernel")
SPREAD_FACTOR = 2.0
MIN_TOLERANCE = 0.05
BOOTSTRAP_ROUNDS = 1000
# The expected range of n draws of a normal variable, in standard deviations.
EXPECTED_RANGE = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326}


@dataclass(frozen=True)
class BenchRun:
    """One bench run's metrics (each one's latest record) and the host facts of the run that recorded each."""

    metrics: Mapping[str, Metric]
    hosts: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_latest(cls, latest: Mapping[str, tuple[Metric, Mapping[str, Any]]]) -> BenchRun:
        metrics = {name: metric for name, (metric, _) in latest.items()}
        return cls(metrics, {name: run.get("host") or {} for name, (_, run) in latest.items()})

    def error(self, of: str, to: str | None = None) -> float:
        """The relative standard error of median(of) (or of median(of) / median(to)), bootstrapped from the samples."""
        top = self.metrics[of].samples
        bottom = self.metrics[to].samples if to else None
        if len(top) < 2 and (bottom is None or len(bottom) < 2):
            return 0.0
        draw = random.Random(f"{of}/{to}")  # the same baseline from the same files
        values = []
        for _ in range(BOOTSTRAP_ROUNDS):
            value = statistics.median(draw.choices(top, k=len(top)))
            if bottom is not None:
                under = statistics.median(draw.choices(bottom, k=len(bottom)))
                value = value / under if under else 0.0
            values.append(value)
        middle = statistics.median(values)
        return 0.0 if middle == 0 else statistics.pstdev(values) / abs(middle)

    def ratio(self, of: str, to: str) -> float | None:
        """median(of) / median(to); None when either was not recorded or the reference is zero."""
        if of not in self.metrics or to not in self.metrics or self.metrics[to].median == 0:
            return None
        return self.metrics[of].median / self.metrics[to].median


def fingerprint(host: Mapping[str, Any]) -> dict[str, Any]:
    return {key: host.get(key) for key in FINGERPRINT_KEYS}


def fingerprint_difference(baseline: Mapping[str, Any], host: Mapping[str, Any]) -> str:
    """What differs between the baseline's fingerprint and this host's; empty when they match."""
    mine = fingerprint(host)
    return ", ".join(
        f"{key} {baseline.get(key)!r} here {mine[key]!r}" for key in FINGERPRINT_KEYS if baseline.get(key) != mine[key]
    )


def spread(values: list[float]) -> float:
    """(max - min) / median of the values; 0 for one value."""
    middle = statistics.median(values)
    return 0.0 if middle == 0 else (max(values) - min(values)) / abs(middle)


def _entry(values: list[float], errors: list[float], factor: float, floor: float, **extra: Any) -> dict[str, Any]:
    """A baseline entry: the median of the runs' values, their spread and the tolerance from it.

    ``errors`` are the runs' own relative standard errors; the range they make likely over as
    many runs stands in for the spread when the runs happened to agree more closely.
    """
    seen = spread(values)
    expected = EXPECTED_RANGE.get(len(values), max(EXPECTED_RANGE.values())) * statistics.median(errors)
    used = max(seen, expected)
    return {
        **extra,
        "median": statistics.median(values),
        "runs": values,
        "spread_of_runs": seen,
        "run_error": statistics.median(errors),
        "spread": used,
        "tolerance": max(factor * used, floor),
    }


def make_baseline(
    runs: list[BenchRun],
    run_facts: Mapping[str, Any],
    note: str = "",
    factor: float = SPREAD_FACTOR,
    floor: float = MIN_TOLERANCE,
) -> dict[str, Any]:
    """A baseline from repeated bench runs on one machine: each figure's median over the runs, its spread, tolerance.

    Every ratio of :data:`RATIOS` must have been measured in every run; absolutes are those all
    runs recorded.
    """
    if len(runs) < 2:
        raise MetricError("A baseline needs the metrics of at least two bench runs to see their spread (three, best).")
    ratios = {}
    for name, (of, to) in RATIOS.items():
        values = [run.ratio(of, to) for run in runs]
        if any(value is None for value in values):
            missing = [str(number) for number, value in enumerate(values, 1) if value is None]
            raise MetricError(f"Ratio '{name}' ({of} / {to}) was not measured in run(s) {', '.join(missing)}.")
        errors = [run.error(of, to) for run in runs]
        ratios[name] = _entry(values, errors, factor, floor, of=of, to=to, unit="x", higher_is_better=False)
    names = set.intersection(*(set(run.metrics) for run in runs))
    absolutes = {}
    for name in sorted(names):
        first = runs[0].metrics[name]
        values = [run.metrics[name].median for run in runs]
        errors = [run.error(name) for run in runs]
        absolutes[name] = _entry(
            values, errors, factor, floor, unit=first.unit, higher_is_better=first.higher_is_better
        )
    hosts = [host for run in runs for host in run.hosts.values()]
    host = hosts[0] if hosts else {}
    return {
        "format": FORMAT,
        "created_at": iso_time(time.time()),
        "note": note,
        **{key: run_facts[key] for key in ("git_commit", "git_dirty", "driver") if key in run_facts},
        "host": dict(host),
        "fingerprint": fingerprint(host),
        "bench_runs": len(runs),
        "tolerance_rule": (
            f"max({factor:g} x spread, {floor:.0%}); spread: the range over {len(runs)} runs, or the range "
            "their own sampling errors make likely when larger"
        ),
        "ratios": ratios,
        "metrics": absolutes,
    }


@dataclass(frozen=True)
class Verdict:
    """One figure of a bench run against the baseline."""

    name: str
    kind: str  # "ratio" or "absolute"
    unit: str
    baseline: float
    current: float | None
    tolerance: float
    spread: float
    runs: int
    higher_is_better: bool = False
    comparable: bool = True
    detail: str = ""  # what the ratio is of, or why an absolute is not comparable

    @property
    def change(self) -> float | None:
        if self.current is None or self.baseline == 0:
            return None
        return (self.current - self.baseline) / abs(self.baseline)

    @property
    def regressed(self) -> bool:
        change = self.change
        if change is None or not self.comparable:
            return False
        worse = -change if self.higher_is_better else change
        return worse > self.tolerance + 1e-12

    @property
    def status(self) -> str:
        if self.current is None:
            return "NOT MEASURED"
        if not self.comparable:
            return "not comparable"
        if self.kind == "ratio":
            return "REGRESSED" if self.regressed else "ok"
        return "beyond tolerance (not gated)" if self.regressed else "ok (not gated)"

    @property
    def fails_gate(self) -> bool:
        return self.kind == "ratio" and (self.current is None or self.regressed)


def check(run: BenchRun, baseline: Mapping[str, Any]) -> list[Verdict]:
    """Every ratio of the baseline (gated) and every absolute (compared on a like host), against ``run``."""
    if not isinstance(baseline.get("ratios"), dict):
        raise MetricError(
            "The baseline has no 'ratios': it predates the ratio gate; make one with `make bench-baseline`."
        )
    verdicts = [
        Verdict(
            name=name,
            kind="ratio",
            unit="x",
            baseline=float(entry["median"]),
            current=run.ratio(entry["of"], entry["to"]),
            tolerance=float(entry["tolerance"]),
            spread=float(entry.get("spread", 0.0)),
            runs=len(entry.get("runs") or []),
            higher_is_better=bool(entry.get("higher_is_better", False)),
            detail=f"{entry['of']} / {entry['to']}",
        )
        for name, entry in baseline["ratios"].items()
    ]
    reference = baseline.get("fingerprint") or fingerprint(baseline.get("host") or {})
    for name, entry in baseline.get("metrics", {}).items():
        metric = run.metrics.get(name)
        differs = fingerprint_difference(reference, run.hosts.get(name) or {}) if metric else ""
        verdicts.append(
            Verdict(
                name=name,
                kind="absolute",
                unit=str(entry.get("unit", "")),
                baseline=float(entry["median"]),
                current=None if metric is None else metric.median,
                tolerance=float(entry.get("tolerance", 0.0)),
                spread=float(entry.get("spread", 0.0)),
                runs=len(entry.get("runs") or []),
                higher_is_better=bool(entry.get("higher_is_better", False)),
                comparable=not differs,
                detail=differs,
            )
        )
    return verdicts


def merged_facts(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The run facts of the newest record that has them (commit, driver)."""
    facts: dict[str, Any] = {}
    for record in records:
        facts.update({key: value for key, value in record.items() if key != "metrics"})
    return facts

"""Baselines and regression checks: this run's medians against the committed ones."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot.api import logger

from nomadtest.perf.figures import DEFAULT_TOLERANCE, Metric, MetricError, figure, parse_tolerance, percent, summarise
from nomadtest.perf.runfacts import iso_time
from nomadtest.perf.store import FORMAT, Recorder, read_json, write_json


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


# -- a run's metrics against a baseline file ------------------------------------------------------


def should_not_have_regressed(recorder: Recorder, name: str, path: Path, tolerance: str | None) -> float:
    """The change of the metric's median against the baseline in ``path``; fails beyond the tolerance."""
    reference = load_baseline(path)
    metric = recorder.find(name)
    chosen = parse_tolerance(tolerance) if tolerance is not None else None
    comparison = compare(metric, reference, chosen)
    origin = _origin(reference, path)
    if comparison.regressed:
        raise AssertionError(f"{comparison.describe()}. Baseline {origin}.")
    logger.info(f"{comparison.describe()}. Baseline {origin}.")
    return comparison.change


def save_as_baseline(
    recorder: Recorder, target: Path, names: list[str] | None, tolerance: str | None, note: str
) -> Path:
    """Merge the medians of the metrics ``names`` (all this process recorded, without) into the baseline ``target``.

    Each metric keeps the tolerance the file gave it unless ``tolerance`` is given.
    """
    chosen = [recorder.find(name) for name in names] if names else list(recorder.metrics.values())
    existing = load_baseline(target) if target.exists() else None
    kept = {
        name: parse_tolerance(entry.get("tolerance", DEFAULT_TOLERANCE))
        for name, entry in (existing or {}).get("metrics", {}).items()
    }
    default = parse_tolerance(tolerance) if tolerance is not None else DEFAULT_TOLERANCE
    tolerances = {} if tolerance is not None else kept
    new = make_baseline(chosen, default, recorder.run, tolerances, note)
    write_json(target, merge_baseline(existing, new))
    logger.info(f"Saved {len(chosen)} metric(s) as the baseline in {target}: {', '.join(new['metrics'])}")
    return target


def _origin(reference: dict[str, Any], path: Path) -> str:
    commit = (reference.get("git_commit") or "?")[:12]
    host = reference.get("host") or {}
    machine = f"{host.get('cpus', '?')} CPUs {host.get('cpu_model', '')}".strip()
    return f"{path} (commit {commit}, {reference.get('created_at', '?')}, {machine})"

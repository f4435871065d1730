"""Performance metrics and their statistics: named samples with a unit, medians and percentiles."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nomadtest.perf.runfacts import iso_time

DEFAULT_TOLERANCE = 0.20


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")


_TOLERANCE = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+)\s*(?P<percent>%?)\s*$")


class MetricError(ValueError):
    """A metric, metrics file or baseline that cannot be used; the message says why."""


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

"""PNG charts of metrics and of sampled resource usage, drawn with matplotlib's object API.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global backend or state), so
drawing is safe in any process and never opens a window. matplotlib is imported on first use.
``plot_owned`` is the procedure behind Performance's `Plot Metrics`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from robot.api import logger

from nomadtest.listener import current_owner, owned_by
from nomadtest.perf import regression
from nomadtest.perf.figures import Metric, MetricError, summarise
from nomadtest.perf.usage import MIB, Series

if TYPE_CHECKING:
    from nomadtest.perf.store import Recorder

PANEL_HEIGHT = 2.3
WIDTH = 9.0


def _figure(panels: int):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, 0.8 + PANEL_HEIGHT * panels), dpi=100, layout="constrained")
    axes = figure.subplots(panels, 1, squeeze=False)
    return figure, [row[0] for row in axes]


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_metrics(
    metrics: Sequence[Metric], path: Path, title: str = "", baselines: dict[str, float] | None = None
) -> Path:
    """One panel per metric: its samples in recording order, with median and p90 (and baseline) lines."""
    if not metrics:
        raise ValueError("There are no metrics to plot.")
    figure, axes = _figure(len(metrics))
    if title:
        figure.suptitle(title)
    for axis, metric in zip(axes, metrics, strict=True):
        stats = summarise(metric.samples)
        runs = range(1, len(metric.samples) + 1)
        axis.plot(runs, metric.samples, marker="o", markersize=3.5, linewidth=0.8, color="C0", label="samples")
        axis.axhline(stats["median"], color="C1", linewidth=1.2, label=f"median {stats['median']:.4g}")
        axis.axhline(stats["p90"], color="C3", linewidth=1.0, linestyle="--", label=f"p90 {stats['p90']:.4g}")
        baseline = (baselines or {}).get(metric.name)
        if baseline is not None:
            axis.axhline(baseline, color="C2", linewidth=1.0, linestyle=":", label=f"baseline {baseline:.4g}")
        axis.set_title(f"{metric.name} ({metric.unit})" if metric.unit else metric.name, fontsize=10)
        axis.set_xlabel("sample", fontsize=8)
        axis.set_ylabel(metric.unit, fontsize=8)
        axis.tick_params(labelsize=8)
        axis.set_xlim(0.5, max(len(metric.samples), 1) + 0.5)
        _integer_ticks(axis)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7, loc="best")
    return _save(figure, path)


def plot_series(series: Series, path: Path) -> Path:
    """Memory (usage and RSS) and CPU (MHz) of one task over time, each against the task's limit."""
    if not series.samples:
        raise ValueError(f"Series '{series.label}' has no samples to plot.")
    figure, (memory, cpu) = _figure(2)
    what = f"task '{series.task}' of job {series.job_id}"
    figure.suptitle(what if series.label == series.job_id else f"{series.label}: {what}", fontsize=10)
    elapsed = [sample["elapsed"] for sample in series.samples]
    memory.plot(elapsed, [s["memory_usage"] / MIB for s in series.samples], marker=".", label="usage", color="C0")
    memory.plot(elapsed, [s["memory_rss"] / MIB for s in series.samples], marker=".", label="RSS", color="C1")
    if series.limits.memory:
        memory.axhline(series.limits.memory / MIB, color="C3", linestyle="--", label="limit")
    memory.set_ylabel("MiB", fontsize=8)
    memory.set_ylim(bottom=0)
    memory.set_title("memory", fontsize=9)
    # The driver's first reading of a task has no earlier one to compute a rate from: it says 0.
    skip = 1 if len(series.samples) > 1 and series.samples[0]["cpu_total_ticks"] == 0 else 0
    cpu_samples = series.samples[skip:]
    cpu.plot([s["elapsed"] for s in cpu_samples], [s["cpu_total_ticks"] for s in cpu_samples], marker=".", label="CPU")
    if series.limits.cpu_mhz:
        cpu.axhline(series.limits.cpu_mhz, color="C3", linestyle="--", label="limit")
    cpu.set_ylabel("MHz", fontsize=8)
    cpu.set_ylim(bottom=0)
    cpu.set_title("CPU", fontsize=9)
    for axis in (memory, cpu):
        axis.set_xlabel("seconds", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7, loc="best")
    return _save(figure, path)


def plot_bars(values: dict[str, float], path: Path, title: str, unit: str) -> Path:
    """A horizontal bar per name, labelled with its value (the bench's side-by-side medians)."""
    figure, (axis,) = _figure(1)
    names = list(values)
    axis.barh(names, [values[name] for name in names], color=[f"C{index}" for index in range(len(names))])
    for position, name in enumerate(names):
        axis.text(values[name], position, f" {values[name]:.4g} {unit}", va="center", fontsize=8)
    axis.invert_yaxis()
    positive = [value for value in values.values() if value > 0]
    if positive and max(positive) > 50 * min(positive):
        axis.set_xscale("log")  # a bar 50 times shorter than the longest would not show
    axis.set_xlabel(unit, fontsize=8)
    axis.set_title(title, fontsize=10)
    axis.margins(x=0.2)
    axis.grid(True, axis="x", alpha=0.3)
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def html_image(path: Path, width: int = 800) -> str:
    """An ``<img>`` with the PNG inlined, so log.html shows it wherever the file ends up (pabot too)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" width="{width}" alt="{path.name}">'


def plot_owned(
    recorder: Recorder, sampled: list[Series], names: list[str] | None, title: str | None, series: bool, baseline: Path
) -> list[Path]:
    """Chart the metrics ``names`` (without: those the current test or suite recorded) and the series it sampled.

    The PNG files go to ``plots/`` beside the metrics file and into the log; the baseline's
    medians are drawn where it has them.
    """
    owner = current_owner()
    chosen = (
        [recorder.find(name) for name in names]
        if names
        else [metric for metric in recorder.metrics.values() if owned_by(owner, metric.owner)]
    )
    directory = recorder.path.parent / "plots"
    drawn: list[Path] = []
    if chosen:
        path = directory / f"{_file_name(owner)}-metrics.png"
        drawn.append(plot_metrics(chosen, path, title or f"Metrics of {owner}", _baseline_medians(baseline)))
    if series:
        for index, one in enumerate(sampled):
            if owned_by(owner, one.owner) and one.samples:
                path = directory / f"{_file_name(owner)}-usage-{index + 1}-{_file_name(one.label)}.png"
                drawn.append(plot_series(one, path))
    if not drawn:
        logger.info(f"Nothing to plot: {owner} recorded no metric and sampled no usage.")
    for path in drawn:
        logger.info(html_image(path), html=True)
        logger.info(f"Plot saved as {path}")
    return drawn


def _baseline_medians(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    try:
        reference = regression.load_baseline(path)
    except MetricError as error:
        logger.warn(f"The baseline is not drawn: {error}")
        return {}
    return {name: float(entry["median"]) for name, entry in reference["metrics"].items() if "median" in entry}


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "plot"

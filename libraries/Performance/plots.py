"""Keywords that draw metrics and sampled resource usage into log.html."""

from __future__ import annotations

import re
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.library import PERFORMANCE, LibraryComponent
from nomadtest.listener import current_owner, owned_by
from nomadtest.perf import figures, plots, regression


class Plots(LibraryComponent):
    """Draw PNG charts of metrics and usage series and show them in log.html."""

    @keyword(tags=[PERFORMANCE])
    def plot_metrics(
        self,
        names: list[str] | None = None,
        title: str | None = None,
        series: bool = True,
        baseline: str | None = None,
    ) -> list[str]:
        """Draws each metric's samples, and each sampled usage series against its limits, into log.html.

        Without ``names``, the metrics the current suite (or test) recorded in this process; the
        charts show each sample in recording order with the median and p90, and the baseline's
        median when the baseline file (``baseline``, else the library's when it exists) has the
        metric. With ``series`` (the default), each series the current suite sampled with `Sample
        Task Resource Usage` or the limit checks gets a chart of memory and CPU over time against
        the task's memory and CPU limits.

        The PNG files go to ``plots/`` beside ``metrics.json`` and are shown inline in log.html,
        so they survive pabot's merge. Returns their paths; logs a note when there is nothing to plot.

        Examples:
        | `Plot Metrics` | | |
        | `Plot Metrics` | names=${{ ["startup_to_main", "startup_to_started"] }} | title=Start times |
        """
        owner = current_owner()
        recorder = self.library.recorder
        chosen = (
            [recorder.find(name) for name in names]
            if names
            else [metric for metric in recorder.metrics.values() if owned_by(owner, metric.owner)]
        )
        directory = recorder.path.parent / "plots"
        drawn: list[Path] = []
        if chosen:
            medians = _baseline_medians(Path(baseline) if baseline else self.library.baseline_path)
            path = directory / f"{_file_name(owner)}-metrics.png"
            drawn.append(plots.plot_metrics(chosen, path, title or f"Metrics of {owner}", medians))
        if series:
            for index, sampled in enumerate(self.library.series):
                if owned_by(owner, sampled.owner) and sampled.samples:
                    path = directory / f"{_file_name(owner)}-usage-{index + 1}-{_file_name(sampled.label)}.png"
                    drawn.append(plots.plot_series(sampled, path))
        if not drawn:
            logger.info(f"Nothing to plot: {owner} recorded no metric and sampled no usage.")
        for path in drawn:
            logger.info(plots.html_image(path), html=True)
            logger.info(f"Plot saved as {path}")
        return [str(path) for path in drawn]


def _baseline_medians(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    try:
        reference = regression.load_baseline(path)
    except figures.MetricError as error:
        logger.warn(f"The baseline is not drawn: {error}")
        return {}
    return {name: float(entry["median"]) for name, entry in reference["metrics"].items() if "median" in entry}


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "plot"

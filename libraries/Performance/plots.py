"""Keywords that draw metrics and sampled resource usage into log.html."""

from __future__ import annotations

from pathlib import Path

from robot.api.deco import keyword

from nomadtest.library import PERFORMANCE, LibraryComponent
from nomadtest.perf import plots


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
        medians_from = Path(baseline) if baseline else self.library.baseline_path
        drawn = plots.plot_owned(self.library.recorder, self.library.series, names, title, series, medians_from)
        return [str(path) for path in drawn]

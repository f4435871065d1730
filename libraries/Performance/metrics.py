"""Keywords that record metrics into metrics.json and compare them with a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.library import ASSERTION, PERFORMANCE, QUERY, LibraryComponent
from nomadtest.listener import current_owner
from nomadtest.perf import regression


class Metrics(LibraryComponent):
    """Record metrics, read them back, and check them against a baseline."""

    @keyword(tags=[PERFORMANCE])
    def record_metric(self, name: str, value: Any, unit: str = "", higher_is_better: bool = False) -> dict[str, Any]:
        """Records ``value`` (a number or a list of numbers) as samples of the metric ``name``, in ``unit``.

        Recording a name again adds samples to it (in the same unit), so a loop may record one
        sample per turn. The metric, with its samples, median, p90, min, max and mean, is written
        to this run's record in ``metrics.json`` at once (see `Metrics`), with the test or suite
        that recorded it and the host's load average at that moment. Returns the metric's summary
        (``count``, ``median``, ``p90``, ``mean``, ``min``, ``max``, ``unit``, ``samples``...).

        ``higher_is_better`` says which way is a regression for baselines (throughput, say).

        Examples:
        | `Record Metric` | startup_to_main | ${startup}[main] | s |
        | `Record Metric` | jobs_per_minute | ${rate} | jobs/min | higher_is_better=${True} |
        """
        recorder = self.library.recorder
        metric = recorder.record(name, value, unit, higher_is_better, current_owner())
        logger.info(f"Recorded {metric.describe()} in {recorder.path}")
        return metric.to_json()

    @keyword(tags=[PERFORMANCE, QUERY])
    def get_metric(self, name: str) -> dict[str, Any]:
        """Returns the summary of the metric ``name`` as `Record Metric` does.

        A metric this process did not record is read from the metrics file, its latest record
        (another pabot worker's, or an earlier run's).

        Example:
        | ${metric} = | `Get Metric` | startup_to_main |
        | Log | median ${metric}[median] s over ${metric}[count] runs |
        """
        return self.library.recorder.find(name).to_json()

    @keyword(tags=[PERFORMANCE, QUERY])
    def get_metrics_file(self) -> str:
        """Returns the path of the metrics file this run writes (see `Metrics`).

        Example:
        | ${file} = | `Get Metrics File` |
        """
        return str(self.library.recorder.path)

    @keyword(tags=[PERFORMANCE, ASSERTION])
    def metric_should_not_have_regressed(
        self, name: str, baseline: str | None = None, tolerance: str | None = None
    ) -> float:
        """Fails when the median of the metric ``name`` is worse than the baseline's by more than the tolerance.

        ``baseline`` is a baseline file (default: the library's, see `Baselines`); ``tolerance``
        (``20%`` or ``0.2``) overrides the tolerance the baseline gives the metric (20% when it
        gives none). Worse is higher unless the metric is recorded ``higher_is_better``. The
        failure gives both medians and the change; the result is the change as a fraction.

        Examples:
        | `Metric Should Not Have Regressed` | startup_to_main | | |
        | `Metric Should Not Have Regressed` | startup_to_main | baseline=${CURDIR}/baseline.json | tolerance=50% |
        """
        path = Path(baseline) if baseline else self.library.baseline_path
        return regression.should_not_have_regressed(self.library.recorder, name, path, tolerance)

    @keyword(tags=[PERFORMANCE])
    def save_metrics_as_baseline(
        self,
        path: str | None = None,
        names: list[str] | None = None,
        tolerance: str | None = None,
        note: str = "",
    ) -> str:
        """Writes the medians of this process's metrics (or of ``names``) into a baseline file; returns its path.

        ``path`` defaults to the library's baseline (see `Baselines`). Metrics already in the file
        and not saved now keep their entries. Each saved metric keeps the tolerance the file gave
        it, unless ``tolerance`` is given; new ones get ``tolerance`` or 20%. ``note`` says what the
        baseline is (machine kind, load) for whoever reads the file.

        Examples:
        | `Save Metrics As Baseline` | | |
        | `Save Metrics As Baseline` | ${OUTPUT DIR}/baseline.json | names=${{ ["startup_to_main"] }} |
        """
        target = Path(path) if path else self.library.baseline_path
        return str(regression.save_as_baseline(self.library.recorder, target, names, tolerance, note))

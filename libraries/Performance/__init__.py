"""Performance: start times, resource usage against limits, metrics, baselines and plots."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from nomadtest import __version__, robotvars
from nomadtest.library import NomadLibrary
from nomadtest.perf import runfacts, store
from nomadtest.perf.measurelock import MeasurementLocks
from nomadtest.perf.usage import Series

from .footprint import Footprint
from .locking import MeasurementLock
from .metrics import Metrics
from .plots import Plots
from .startup import Startup
from .usage import ResourceUsage

__all__ = ["Performance", "__version__"]

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS_ENVIRONMENT_VARIABLE = "NOMAD_E2E_METRICS_FILE"
BASELINE_ENVIRONMENT_VARIABLE = "NOMAD_E2E_BASELINE"


class Performance(NomadLibrary):
    """Measures how fast jobs start and what their tasks use, checks usage against limits, and keeps the figures.

    = Start times =

    `Measure Job Startup Time` submits a job N times and measures, by Nomad's and the JVM's
    clocks, the seconds from the job's submission (Nomad's ``SubmitTime``) to the task's
    ``Started`` event and to the JVM's ``main`` (the ``main-entered-epoch-us=`` line the
    ``start-probe`` JAR prints). It also says how long the framework itself spent around each
    run: in `Submit Job`, noticing the completion, and in `Stop Job`. `Measure Concurrent Job Runs`
    runs many jobs at once and measures the whole.

    = Resource usage =

    `Get Task Resource Usage` reads what Nomad's allocation stats API
    (``/v1/client/allocation/<id>/stats``) reports for a task, which the driver's ``TaskStats``
    feeds; `Sample Task Resource Usage` reads it every ``interval`` for a ``duration``, and
    `Sample Resource Usage Of Tasks` reads several tasks over the same seconds, to compare them. Nomad
    collects these figures only when the agent's config has ``telemetry {
    publish_allocation_metrics = true }``: start it with `Start Nomad Server
    extra_hcl=...` (``resources/performance.resource`` has the block as ``${STATISTICS HCL}``).

    A reading is a dictionary:

    | = Key = | = Meaning = |
    | ``memory_usage`` | bytes the cgroup counts against the limit (RSS and page cache) |
    | ``memory_rss``, ``memory_cache`` | bytes of anonymous memory and of page cache |
    | ``memory_max_usage``, ``memory_swap`` | the cgroup's high-water mark and swap, bytes |
    | ``cpu_percent`` | percent of one core (200 is two cores busy) |
    | ``cpu_total_ticks`` | CPU used in MHz (Nomad's ``TotalTicks``), comparable with the job's ``cpu`` |
    | ``cpu_user_percent``, ``cpu_system_percent`` | user and kernel time, percent of one core |
    | ``cpu_throttled_periods``, ``cpu_throttled_time`` | CFS periods and seconds throttled, counted from the start |
    | ``timestamp``, ``elapsed`` | when Nomad took the reading (epoch seconds); seconds since the first sample |
    | ``measured`` | what the driver says it measured |

    = Limits =

    `Task Memory Usage Should Stay Below`, `Task CPU Usage Should Stay Below` and `Task Should Be
    Throttled To Its CPU Limit` judge a sampled window (sampled by them, or given as ``series``
    from `Sample Task Resource Usage`). Sizes are ``256 MB``, ``64 MiB`` or bytes (MB and MiB are
    both 2^20 bytes, as in Nomad's ``memory = 256``); CPU is ``500 MHz`` or ``150%`` of one core.
    Without a limit, the task's own is used, from the allocation's resources.

    Nomad's ``cpu`` is a weight for the drivers that use ``cpu.shares`` (``exec``, ``java``, and
    crunjar by default): a task may use idle CPU beyond it and gets its share under contention only.
    A hard CPU limit comes from reserved ``cores`` (a cpuset) or a CFS quota, where the driver sets
    one (crunjar's task option ``cpu_hard_limit = true``).

    = Metrics =

    `Record Metric` keeps samples under a name and unit. Each test process adds one record per run
    to ``metrics.json``: when, the git commit, the host's facts, the driver, and every metric with
    its samples, median and p90. The file is ``${OUTPUT DIR}/metrics.json`` (for pabot workers, in
    pabot's own output dir, all workers in one run record), or the ``metrics_file`` import
    argument, or ``NOMAD_E2E_METRICS_FILE``. Runs accumulate: the file is the history to chart.

    = Baselines =

    A baseline file (``bench/baseline.json`` in the checkout, the ``baseline`` import argument or
    ``NOMAD_E2E_BASELINE``) holds each metric's median, unit and tolerance.
    `Metric Should Not Have Regressed` compares this run's median with it and fails with both
    figures; `Save Metrics As Baseline` writes this run's medians into it.

    = Plots =

    `Plot Metrics` draws each metric's samples with their median and p90, and each sampled usage
    series against the task's memory and CPU limits, as PNG files beside ``metrics.json`` (in
    ``plots/``), shown inline in log.html.

    = Measuring alone =

    `Acquire Measurement Lock` keeps timing suites from measuring each other: pabot's lock under
    pabot, and a lock every process on the host shares.

    = Example =

    | *** Settings ***
    | Resource    nomadtest/resources/performance.resource
    |
    | *** Test Cases ***
    | Start Time Is Recorded
    |     ${startup} =    `Measure Job Startup Time`    jar_path=${JARS}/start-probe.jar    runs=10
    |     `Record Metric`    startup_to_main    ${startup}[main]    s
    |     `Metric Should Not Have Regressed`    startup_to_main    tolerance=50%
    |
    | Heap-Capped JVM Stays Under Its Limit
    |     ${job} =    Submit Job    java-service    jar_path=${JARS}/heap-churner.jar    jvm_options=${{ ["-Xmx64m"] }}
    |     ${series} =    `Sample Task Resource Usage`    ${job}    duration=15s    interval=1s
    |     `Task Memory Usage Should Stay Below`    ${job}    256 MB    series=${series}
    |     `Plot Metrics`
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, metrics_file: str | None = None, baseline: str | None = None) -> None:
        """Both arguments are optional:

        | = Argument = | = Environment = | = Default = |
        | metrics_file | NOMAD_E2E_METRICS_FILE | ``${OUTPUT DIR}/metrics.json`` (pabot: the top output dir's) |
        | baseline | NOMAD_E2E_BASELINE | ``bench/baseline.json`` of the checkout |

        Example:
        | Library | Performance | metrics_file=${OUTPUT DIR}/perf/metrics.json |
        """
        self._metrics_file = metrics_file or os.environ.get(METRICS_ENVIRONMENT_VARIABLE)
        self.baseline_path = Path(
            baseline or os.environ.get(BASELINE_ENVIRONMENT_VARIABLE) or REPO_ROOT / "bench" / "baseline.json"
        )
        self.recorder = store.Recorder(self.metrics_path, self.run_record)
        self.series: list[Series] = []
        self.plugin_pids: dict[str, int] = {}
        self.measurement_lock = MeasurementLocks()
        self._jobs: Any = None
        self.ROBOT_LIBRARY_LISTENER = self
        super().__init__([Startup, ResourceUsage, Footprint, Metrics, Plots, MeasurementLock])

    def metrics_path(self) -> Path:
        return store.metrics_path(self._metrics_file, REPO_ROOT / "results")

    @staticmethod
    def run_record() -> dict[str, Any]:
        return runfacts.run_record(REPO_ROOT, robotvars.under_pabot())

    def job_library(self) -> Any:
        """The run's NomadJob library, whose JAR delivery and tracker timed runs use; a private one outside Robot."""
        try:
            return BuiltIn().get_library_instance("NomadJob")
        except RobotNotRunningError:
            if self._jobs is None:
                from NomadJob import NomadJob

                self._jobs = NomadJob()
            return self._jobs
        except RuntimeError:
            raise AssertionError(
                "The Performance library submits jobs with the NomadJob library: import it too (Library    NomadJob)."
            ) from None

    def close(self) -> None:
        """At the end of the run: release the measurement locks still held."""
        with contextlib.suppress(Exception):  # the pabot server may be gone already
            self.measurement_lock.release()

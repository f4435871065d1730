"""The run's ``metrics.json``: one file shared by every process of a run, written under a lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from nomadtest import robotvars
from nomadtest.perf.figures import Metric, MetricError, as_samples, check_name

FORMAT = 1


METRICS_FILE_NAME = "metrics.json"


def metrics_path(given: str | None, outside_robot: Path) -> Path:
    """``given``, else metrics.json in the run's output dir (a pabot worker's: pabot's), else in ``outside_robot``."""
    if given:
        return Path(given)
    output_dir = robotvars.robot_variable("${OUTPUT DIR}")
    if not output_dir:
        return outside_robot / METRICS_FILE_NAME
    return top_output_dir(Path(output_dir), robotvars.under_pabot()) / METRICS_FILE_NAME


def top_output_dir(output_dir: Path, pabot: bool) -> Path:
    """A pabot worker writes into ``<outputdir>/pabot_results/<n>``: the run's own output dir is above it."""
    if pabot:
        for candidate in (output_dir, *output_dir.parents):
            if candidate.name == "pabot_results":
                return candidate.parent
    return output_dir


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

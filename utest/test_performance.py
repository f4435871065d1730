"""The Performance library's logic: metric statistics, metrics.json, baselines, usage readings, timed runs, locks."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pytest
from Performance import Performance

from nomadtest import robotvars
from nomadtest.listener import OUTSIDE_ROBOT
from nomadtest.perf import figures, measurelock, regression, runfacts, startup, store, taskusage, usage
from nomadtest.waiting import Deadline

RUN = {"run": "host-1-100", "started_at": "2025-01-01T00:00:00Z", "git_commit": "abc", "host": {"cpus": 2}}


# -- statistics ----------------------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks():
    values = [float(number) for number in range(1, 11)]
    assert figures.percentile(values, 0.9) == pytest.approx(9.1)
    assert figures.percentile(values, 0.5) == pytest.approx(5.5)
    assert figures.percentile([3.0], 0.9) == 3.0
    assert figures.percentile([5.0, 1.0], 1.0) == 5.0


def test_a_percentile_needs_samples_and_a_fraction():
    with pytest.raises(figures.MetricError, match="no samples"):
        figures.percentile([], 0.9)
    with pytest.raises(figures.MetricError, match="between 0 and 1"):
        figures.percentile([1.0], 90)


def test_summary_has_median_and_p90():
    stats = figures.summarise([0.3, 0.1, 0.2, 0.4, 1.0])
    assert stats == {"count": 5, "median": 0.3, "p90": pytest.approx(0.76), "mean": 0.4, "min": 0.1, "max": 1.0}


def test_samples_are_numbers_or_lists_of_numbers():
    assert figures.as_samples(1) == [1.0]
    assert figures.as_samples("0.25") == [0.25]
    assert figures.as_samples([1, "2", 3.5]) == [1.0, 2.0, 3.5]
    for bad in (True, "fast", None, float("nan"), []):
        with pytest.raises(figures.MetricError):
            figures.as_samples(bad)


def test_metric_names_are_plain():
    assert figures.check_name("startup_to_main") == "startup_to_main"
    assert figures.check_name("bench/raw_exec:median") == "bench/raw_exec:median"
    for bad in ("", "has space", "-leading", "ünï"):
        with pytest.raises(figures.MetricError, match="not usable"):
            figures.check_name(bad)


@pytest.mark.parametrize(
    ("given", "fraction"), [("20%", 0.2), ("0.2", 0.2), (0.5, 0.5), ("150 %", 1.5), ("0", 0.0), (1, 1.0)]
)
def test_tolerances_are_percentages_or_fractions(given, fraction):
    assert figures.parse_tolerance(given) == pytest.approx(fraction)


@pytest.mark.parametrize("bad", ["-5%", "twenty", "", "20%%", -0.1])
def test_bad_tolerances_are_refused(bad):
    with pytest.raises(figures.MetricError):
        figures.parse_tolerance(bad)


def test_a_metric_keeps_one_unit():
    metric = figures.Metric("startup", "s", [1.0])
    metric.add([2.0], "s")
    assert metric.samples == [1.0, 2.0]
    with pytest.raises(figures.MetricError, match="recorded in s, not ms"):
        metric.add([3.0], "ms")


# -- baselines -------------------------------------------------------------------------------------------


def baseline(median: float, tolerance: object = "20%", unit: str = "s", higher: bool = False) -> dict:
    return {
        "metrics": {"startup": {"median": median, "unit": unit, "tolerance": tolerance, "higher_is_better": higher}}
    }


def test_a_median_worse_than_its_tolerance_has_regressed_and_says_both_figures():
    comparison = regression.compare(figures.Metric("startup", "s", [1.2, 1.3, 1.25]), baseline(1.0))
    assert comparison.regressed
    assert comparison.change == pytest.approx(0.25)
    assert comparison.describe() == (
        "Metric 'startup' regressed: median 1.25 s now, baseline 1 s (+25.0%; lower is better, tolerance 20%)"
    )


def test_a_median_within_its_tolerance_or_better_has_not_regressed():
    assert not regression.compare(figures.Metric("startup", "s", [1.2]), baseline(1.0)).regressed
    assert not regression.compare(figures.Metric("startup", "s", [0.1]), baseline(1.0)).regressed
    assert "within tolerance" in regression.compare(figures.Metric("startup", "s", [1.1]), baseline(1.0)).describe()


def test_the_tolerance_given_overrides_the_baselines():
    metric = figures.Metric("startup", "s", [1.5])
    assert regression.compare(metric, baseline(1.0)).regressed
    assert not regression.compare(metric, baseline(1.0), tolerance=0.6).regressed
    assert regression.compare(metric, baseline(1.0, tolerance=None), tolerance=None).tolerance == pytest.approx(0.2)


def test_for_higher_is_better_metrics_a_drop_is_the_regression():
    assert regression.compare(figures.Metric("startup", "s", [0.7]), baseline(1.0, higher=True)).regressed
    assert not regression.compare(figures.Metric("startup", "s", [1.7]), baseline(1.0, higher=True)).regressed


def test_a_zero_baseline_compares_without_dividing_by_zero():
    assert regression.compare(figures.Metric("startup", "s", [0.0]), baseline(0.0)).change == 0
    grown = regression.compare(figures.Metric("startup", "s", [0.1]), baseline(0.0))
    assert grown.regressed and math.isinf(grown.change)


def test_a_metric_missing_from_the_baseline_or_in_another_unit_is_an_error():
    with pytest.raises(figures.MetricError, match=r"no metric 'other' .*it has: startup"):
        regression.compare(figures.Metric("other", "s", [1.0]), baseline(1.0))
    with pytest.raises(figures.MetricError, match="in ms but its baseline in s"):
        regression.compare(figures.Metric("startup", "ms", [1.0]), baseline(1.0))


def test_a_baseline_keeps_medians_tolerances_and_where_they_came_from():
    made = regression.make_baseline(
        [figures.Metric("b", "s", [1.0, 3.0]), figures.Metric("a", "MiB", [5.0])], 0.2, RUN, {"a": 0.5}, "2 CPUs"
    )
    assert list(made["metrics"]) == ["a", "b"]
    assert made["metrics"]["b"] == {
        "median": 2.0,
        "p90": pytest.approx(2.8),
        "count": 2,
        "unit": "s",
        "tolerance": 0.2,
        "higher_is_better": False,
    }
    assert made["metrics"]["a"]["tolerance"] == 0.5
    assert made["git_commit"] == "abc" and made["host"] == {"cpus": 2} and made["note"] == "2 CPUs"
    merged = regression.merge_baseline({"metrics": {"old": {"median": 9}, "a": {"median": 1}}}, made)
    assert sorted(merged["metrics"]) == ["a", "b", "old"] and merged["metrics"]["a"]["median"] == 5.0


def test_a_recorders_metrics_are_saved_into_a_baseline_and_checked_against_it(tmp_path):
    recorder = store.Recorder(lambda: tmp_path / "metrics.json", lambda: dict(RUN))
    recorder.record("startup", [1.0, 2.0, 3.0], "s")
    recorder.record("rss", 30.0, "MiB")
    target = tmp_path / "baseline.json"
    store.write_json(target, {"metrics": {"rss": {"median": 99.0, "unit": "MiB", "tolerance": 0.5}}})
    assert regression.save_as_baseline(recorder, target, ["startup"], None, "2 CPUs") == target
    saved = json.loads(target.read_text())
    assert saved["metrics"]["startup"]["median"] == 2.0 and saved["metrics"]["rss"]["median"] == 99.0
    assert saved["note"] == "2 CPUs" and saved["git_commit"] == "abc"
    assert regression.should_not_have_regressed(recorder, "startup", target, None) == 0.0
    recorder.record("startup", [9.0, 9.0, 9.0], "s")
    with pytest.raises(AssertionError, match=r"regressed: .* Baseline .*baseline.json \(commit abc, .*, 2 CPUs\)"):
        regression.should_not_have_regressed(recorder, "startup", target, "50%")


# -- metrics.json ------------------------------------------------------------------------------------------


def test_each_run_gets_one_record_holding_every_metric(tmp_path):
    path = tmp_path / "results" / "metrics.json"
    store.save_run(path, RUN, figures.Metric("startup", "s", [1.0, 2.0, 3.0], owner="Suite.Test"))
    store.save_run(path, RUN, figures.Metric("rss", "MiB", [30.0]))
    store.save_run(path, {**RUN, "run": "host-1-200"}, figures.Metric("startup", "s", [4.0]))
    data = json.loads(path.read_text())
    assert data["format"] == store.FORMAT
    assert [run["run"] for run in data["runs"]] == ["host-1-100", "host-1-200"]
    first = data["runs"][0]
    assert first["git_commit"] == "abc" and first["host"] == {"cpus": 2}
    assert sorted(first["metrics"]) == ["rss", "startup"]
    assert first["metrics"]["startup"]["samples"] == [1.0, 2.0, 3.0]
    assert first["metrics"]["startup"]["median"] == 2.0 and first["metrics"]["startup"]["p90"] == pytest.approx(2.8)
    assert first["metrics"]["startup"]["unit"] == "s" and first["metrics"]["startup"]["recorded_by"] == "Suite.Test"
    assert store.latest_metrics(data["runs"])["startup"][0].samples == [4.0]


def test_a_file_that_is_not_a_metrics_file_is_moved_aside_not_lost(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("{not json")
    store.save_run(path, RUN, figures.Metric("startup", "s", [1.0]))
    assert json.loads(path.read_text())["runs"][0]["metrics"]["startup"]["samples"] == [1.0]
    aside = list(tmp_path.glob("metrics.json.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"


def test_the_recorder_adds_samples_under_one_name_and_writes_each_change(tmp_path):
    path = tmp_path / "metrics.json"
    asked = []
    recorder = store.Recorder(lambda: path, lambda: asked.append(1) or dict(RUN))
    recorder.record("startup", [1.0, 2.0], "s", owner="S.T")
    recorder.record("startup", 6.0, "s")
    assert recorder.metrics["startup"].samples == [1.0, 2.0, 6.0] and asked == [1]
    saved = json.loads(path.read_text())["runs"][0]["metrics"]["startup"]
    assert saved["samples"] == [1.0, 2.0, 6.0] and saved["median"] == 2.0 and len(saved["load_average"]) == 3
    with pytest.raises(figures.MetricError, match="recorded in s, not ms"):
        recorder.record("startup", 1.0, "ms")


def test_the_recorder_finds_what_another_process_of_the_run_recorded(tmp_path):
    path = tmp_path / "metrics.json"
    store.save_run(path, RUN, figures.Metric("elsewhere", "s", [5.0]))
    recorder = store.Recorder(lambda: path, lambda: dict(RUN))
    assert recorder.find("elsewhere").samples == [5.0]
    with pytest.raises(figures.MetricError, match=r"No metric 'nothing' was recorded .*elsewhere"):
        recorder.find("nothing")


def test_pabot_workers_write_into_the_runs_own_output_dir():
    assert store.top_output_dir(Path("/r/results/pabot_results/3"), pabot=True) == Path("/r/results")
    assert store.top_output_dir(Path("/r/results/pabot_results/args/3"), pabot=True) == Path("/r/results")
    assert store.top_output_dir(Path("/r/results"), pabot=True) == Path("/r/results")
    assert store.top_output_dir(Path("/r/pabot_results/3"), pabot=False) == Path("/r/pabot_results/3")


def test_outside_robot_the_metrics_file_is_the_one_given_or_in_the_fallback_dir(tmp_path):
    assert store.metrics_path(str(tmp_path / "mine.json"), tmp_path) == tmp_path / "mine.json"
    assert store.metrics_path(None, tmp_path / "results") == tmp_path / "results" / "metrics.json"


def test_outside_robot_no_variable_is_set_and_this_is_no_pabot_worker():
    assert robotvars.robot_variable("${OUTPUT DIR}") is None
    assert robotvars.robot_variable("${OUTPUT DIR}", "fallback") == "fallback"
    assert not robotvars.under_pabot() and robotvars.pabotlib_uri() is None and robotvars.pabot_caller_id() is None


def test_a_run_is_named_after_its_process_and_the_host_facts_are_plain_json():
    identity = runfacts.run_identity(under_pabot=False)
    assert identity.run_id.endswith(str(int(identity.started_at)))
    facts = runfacts.host_facts()
    assert facts["cpus"] >= 1 and facts["memory_mib"] > 0 and facts["kernel"]
    json.dumps(facts)


# -- resource usage --------------------------------------------------------------------------------------------

STATS = {
    "Tasks": {
        "app": {
            "Timestamp": 1_700_000_000_500_000_000,
            "ResourceUsage": {
                "MemoryStats": {
                    "RSS": 18575360,
                    "Cache": 8769536,
                    "Usage": 28549120,
                    "MaxUsage": 28766208,
                    "Swap": 0,
                    "Measured": ["RSS", "Cache", "Swap", "Usage", "Max Usage"],
                },
                "CpuStats": {
                    "Percent": 198.5,
                    "TotalTicks": 5160.6,
                    "UserMode": 197.9,
                    "SystemMode": 0.5,
                    "ThrottledPeriods": 3,
                    "ThrottledTime": 2_500_000_000,
                    "Measured": ["Percent", "Total Ticks"],
                },
            },
        }
    }
}


def test_a_reading_holds_memory_in_bytes_and_cpu_in_percent_and_mhz():
    reading = usage.sample_from_stats(STATS, "app")
    assert reading["timestamp"] == pytest.approx(1_700_000_000.5)
    assert reading["memory_rss"] == 18575360 and reading["memory_usage"] == 28549120
    assert reading["memory_max_usage"] == 28766208 and reading["memory_cache"] == 8769536
    assert reading["cpu_percent"] == 198.5 and reading["cpu_total_ticks"] == 5160.6
    assert reading["cpu_throttled_periods"] == 3 and reading["cpu_throttled_time"] == 2.5
    assert "Total Ticks" in reading["measured"] and "RSS" in reading["measured"]


def test_without_collected_statistics_there_is_no_reading():
    # What Nomad answers when the agent does not publish allocation metrics.
    assert usage.sample_from_stats({"Tasks": {}, "Timestamp": 0}, "app") is None
    assert usage.sample_from_stats({"Tasks": {"app": {"Timestamp": 0}}}, "app") is None


@pytest.mark.parametrize(
    ("given", "size"),
    [
        ("256 MB", 256 * 2**20),
        ("64MiB", 64 * 2**20),
        ("1.5 GiB", 3 * 2**29),
        ("512", 512),
        (1024, 1024),
        ("2 kB", 2048),
    ],
)
def test_sizes_are_read_as_nomad_means_them(given, size):
    assert usage.parse_size(given) == size


@pytest.mark.parametrize(
    ("given", "value", "unit"),
    [("500 MHz", 500, "MHz"), ("1.2GHz", 1200, "MHz"), ("150%", 150, "%"), ("700", 700, "MHz"), (300, 300, "MHz")],
)
def test_cpu_figures_are_mhz_or_percent_of_a_core(given, value, unit):
    limit = usage.parse_cpu(given)
    assert (limit.value, limit.unit) == (pytest.approx(value), unit)
    assert limit.key == ("cpu_total_ticks" if unit == "MHz" else "cpu_percent")


def test_unreadable_limits_are_refused():
    with pytest.raises(ValueError, match="not a size"):
        usage.parse_size("lots")
    with pytest.raises(ValueError, match="not a figure"):
        usage.parse_cpu("2 cores")


def test_the_limits_come_from_the_allocated_resources():
    alloc = {
        "AllocatedResources": {
            "Tasks": {
                "app": {
                    "Memory": {"MemoryMB": 128, "MemoryMaxMB": 256},
                    "Cpu": {"CpuShares": 2599, "ReservedCores": [0]},
                }
            }
        }
    }
    assert usage.task_limits(alloc, "app") == usage.TaskLimits(256 * 2**20, 2599.0, (0,))
    assert usage.task_limits({}, "app") == usage.TaskLimits(0, 0.0, ())


def reading(at: float, usage_mib: float = 10, mhz: float = 100, throttled: int = 0) -> dict:
    return {
        "timestamp": at,
        "memory_usage": int(usage_mib * 2**20),
        "memory_rss": int(usage_mib * 2**20),
        "cpu_total_ticks": mhz,
        "cpu_percent": mhz / 26,
        "cpu_throttled_periods": throttled,
        "cpu_throttled_time": throttled / 10,
    }


def series() -> usage.Series:
    return usage.Series("label", "job", "alloc-1", "app", usage.TaskLimits(256 * 2**20, 500.0))


def test_a_series_keeps_each_reading_once_with_its_elapsed_time():
    sampled = series()
    assert sampled.add(reading(100.0)) and not sampled.add(reading(100.0)) and sampled.add(reading(101.5))
    assert [sample["elapsed"] for sample in sampled.samples] == [0.0, 1.5]


def test_the_peak_and_the_cpu_statistics_of_a_window():
    samples = [reading(0, 10, 0), reading(1, 40, 400, 1), reading(2, 20, 600, 5), reading(3, 30, 800, 9)]
    assert usage.memory_peak(samples, "usage")["timestamp"] == 1
    # The driver's first reading of a task has no rate yet and says 0: it is left out.
    assert usage.cpu_figure(samples, "cpu_total_ticks", "mean") == pytest.approx(600)
    assert usage.cpu_figure(samples, "cpu_total_ticks", "max") == 800
    assert usage.cpu_figure(samples, "cpu_total_ticks", "median") == 600
    assert usage.cpu_figure([reading(0, mhz=0)], "cpu_total_ticks", "mean") == 0
    assert usage.throttled_during(samples) == (9, pytest.approx(0.9))
    with pytest.raises(ValueError, match="must be one of"):
        usage.memory_peak(samples, "heap")
    with pytest.raises(ValueError, match="must be one of"):
        usage.cpu_figure(samples, "cpu_percent", "average")


class FakeStatsClient:
    """Answers the allocation stats API from a list of readings, one per request."""

    def __init__(self, readings: list[dict | None]) -> None:
        self.readings = list(readings)
        self.calls = 0

    def get(self, path: str):
        assert path == "/v1/client/allocation/alloc-1/stats"
        self.calls += 1
        entry = self.readings.pop(0) if self.readings else None
        if entry is None:
            return {"Tasks": {}}
        return {"Tasks": {"app": {"Timestamp": int(entry["at"] * 1e9), "ResourceUsage": {}}}}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sampled(client: FakeStatsClient, state: dict, alloc_id: str = "alloc-1") -> usage.Sampled:
    one = usage.Series("label", "job", alloc_id, "app", usage.TaskLimits(256 * 2**20, 500.0))
    return usage.Sampled(one, client, lambda: state)


def test_sampling_reads_at_each_interval_for_the_whole_duration():
    clock = FakeClock()
    client = FakeStatsClient([{"at": float(second)} for second in range(1, 11)])
    task = sampled(client, {"State": "running"})
    usage.sample_series([task], 3.0, 1.0, clock.sleep, clock)
    assert client.calls == 4 and len(task.series.samples) == 4 and clock.now == pytest.approx(3.0)
    assert not task.series.ended_early


def test_sampling_ends_when_the_task_does():
    clock = FakeClock()
    task = sampled(FakeStatsClient([{"at": 1.0}, {"at": 2.0}, None]), {"State": "dead"})
    usage.sample_series([task], 30.0, 1.0, clock.sleep, clock)
    assert len(task.series.samples) == 2 and task.series.ended_early == "task 'app' ended after 2.0 s"


def test_tasks_sampled_together_are_read_at_the_same_ticks_until_each_ends():
    clock = FakeClock()
    seen: list[tuple[str, float]] = []

    class Recording(FakeStatsClient):
        def __init__(self, name: str, readings: list[dict | None]) -> None:
            super().__init__(readings)
            self.name = name

        def get(self, path: str):
            seen.append((self.name, clock.now))
            return super().get(path)

    lasting = sampled(Recording("lasting", [{"at": float(second)} for second in range(1, 11)]), {"State": "running"})
    ending = sampled(Recording("ending", [{"at": 1.0}, None]), {"State": "dead"})
    usage.sample_series([lasting, ending], 3.0, 1.0, clock.sleep, clock)
    assert seen[:4] == [("lasting", 0.0), ("ending", 0.0), ("lasting", 1.0), ("ending", 1.0)]
    assert [name for name, _ in seen[4:]] == ["lasting", "lasting"]
    assert len(lasting.series.samples) == 4 and not lasting.series.ended_early
    assert len(ending.series.samples) == 1 and ending.series.ended_early == "task 'app' ended after 1.0 s"


def test_a_sampling_interval_must_be_positive():
    with pytest.raises(ValueError, match="more than 0"):
        usage.sample_series([sampled(FakeStatsClient([]), {})], 3.0, 0.0)


ALLOCATION = {
    "ID": "0123456789abcdef",
    "JobID": "job",
    "TaskGroup": "app",
    "AllocatedResources": {"Tasks": {"app": {"Memory": {"MemoryMB": 64}, "Cpu": {"CpuShares": 500}}}},
}


def test_a_series_given_is_judged_against_the_tasks_own_limits(monkeypatch):
    monkeypatch.setattr(taskusage.REGISTRY, "client", lambda agent: "client")
    monkeypatch.setattr(taskusage.lookup, "select_allocation", lambda client, job_id, alloc_id: ALLOCATION)
    monkeypatch.setattr(taskusage.lookup, "resolve_task", lambda alloc, task: "app")
    sampled = series()
    for second, mib in enumerate((10, 30, 20)):
        sampled.add(reading(float(second), mib, 100 * (second + 1)))
    window = taskusage.TaskWindow("job", None, None, None, timedelta(seconds=10), timedelta(seconds=1), sampled.samples)
    kept: list[usage.Series] = []
    assert taskusage.memory_should_stay_below(window, None, "usage", kept) == 30 * 2**20
    with pytest.raises(usage.UsageError, match=r"Memory usage of task 'app' \(allocation 01234567\) reached 30.0 MiB"):
        taskusage.memory_should_stay_below(window, "25 MiB", "usage", kept)
    assert taskusage.cpu_should_stay_below(window, None, "max", kept) == 300
    with pytest.raises(usage.UsageError, match="under a tenth of its limit of 5000 MHz"):
        taskusage.should_be_held_to_cpu_limit(window, "5000 MHz", "25%", kept)
    assert kept == []  # only what is sampled is kept for the plots
    empty = taskusage.TaskWindow("job", None, None, None, timedelta(seconds=10), timedelta(seconds=1), [])
    with pytest.raises(AssertionError, match="The series given has no samples"):
        taskusage.cpu_should_stay_below(empty, None, "mean", kept)


# -- start times ------------------------------------------------------------------------------------------------


def test_the_start_probes_marker_is_microseconds_since_the_epoch():
    assert startup.marker_time("noise\nmain-entered-epoch-us=1700000000250000\n") == pytest.approx(1_700_000_000.25)
    assert startup.marker_time("no marker here") is None
    assert startup.marker_time("at=5\n", marker="at=") == pytest.approx(5e-6)
    with pytest.raises(startup.StartupError, match="does not end with microseconds"):
        startup.marker_time("main-entered-epoch-us=soon")


def test_a_timeline_needs_a_started_event():
    alloc = {
        "ID": "0123456789",
        "TaskStates": {
            "app": {
                "Events": [
                    {"Type": "Received", "Time": 1_000_000_000},
                    {"Type": "Started", "Time": 2_000_000_000},
                    {"Type": "Terminated", "Time": 3_000_000_000},
                    {"Type": "Started", "Time": 4_000_000_000},
                    {"Type": "Terminated", "Time": 5_000_000_000},
                ]
            }
        },
    }
    assert startup.task_timeline(alloc, "app") == (2.0, 5.0)
    alloc["TaskStates"]["app"]["Events"] = [{"Type": "Received", "Time": 1}]
    with pytest.raises(startup.StartupError, match="has no Started event; its events: Received"):
        startup.task_timeline(alloc, "app")


def test_a_run_measures_from_nomads_submit_time():
    run = startup.StartupRun("job-1", 100.0, 100.4, 100.6, 0.03, 0.2, 0.5)
    assert run.to_started == pytest.approx(0.4) and run.to_main == pytest.approx(0.6)
    assert "main after 0.600 s" in run.describe() and "noticed completion 0.200 s" in run.describe()
    with pytest.raises(startup.StartupError, match="no SubmitTime"):
        startup.submit_time({"ID": "job-1"})


class RecordingSubmit:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, target, delivery, tracker, template_or_file, hcl, unique, variables, phases=None) -> str:
        self.calls.append((target, delivery, tracker, template_or_file, hcl, unique, variables))
        if phases is not None:
            phases["render"] = 0.001
        return "job-1"


def test_a_timed_job_is_submitted_as_submit_job_binds_its_arguments(monkeypatch):
    submit = RecordingSubmit()
    monkeypatch.setattr(startup.registration, "submit_job", submit)
    monkeypatch.setattr(startup.REGISTRY, "find", lambda agent: f"agent {agent}")
    given = {"jar_path": "/a.jar", "unique": False, "job_id": "fixed"}
    job = startup.TimedJob("delivery", "tracker", "java-batch", given, "edge")
    assert job.submit() == "job-1"
    expected = (
        "agent edge",
        "delivery",
        "tracker",
        "java-batch",
        None,
        False,
        {"jar_path": "/a.jar", "job_id": "fixed"},
    )
    assert submit.calls == [expected]
    assert given["unique"] is False  # the caller's variables are left as they were
    phases: dict[str, float] = {}
    job.submit(phases)
    assert phases == {"render": 0.001}


def test_timed_runs_need_at_least_one_run_before_anything_else():
    def no_job_library():
        raise AssertionError("not asked for")

    with pytest.raises(ValueError, match="runs must be 1 or more, not 0"):
        startup.measure_startups(no_job_library, "java-batch", {}, None, 0, "", timedelta(seconds=1))
    with pytest.raises(ValueError, match="count must be 1 or more, not 0"):
        startup.measure_concurrent_runs(no_job_library, "java-batch", {}, None, 0, timedelta(seconds=1))


# -- plots --------------------------------------------------------------------------------------------------------


def test_metrics_and_series_are_drawn_as_png(tmp_path):
    pytest.importorskip("matplotlib")
    from nomadtest.perf import plots

    drawn = plots.plot_metrics(
        [figures.Metric("startup", "s", [0.2, 0.3, 0.25]), figures.Metric("rss", "MiB", [30.0])],
        tmp_path / "plots" / "metrics.png",
        "Metrics",
        {"startup": 0.22},
    )
    assert drawn.read_bytes().startswith(b"\x89PNG")
    sampled = series()
    for second in range(5):
        sampled.add(reading(float(second), 10 + second, 100 * second))
    assert plots.plot_series(sampled, tmp_path / "series.png").read_bytes().startswith(b"\x89PNG")
    assert plots.html_image(drawn).startswith('<img src="data:image/png;base64,iVBOR')
    with pytest.raises(ValueError, match="no metrics"):
        plots.plot_metrics([], tmp_path / "none.png")


def test_plot_metrics_draws_what_its_owner_recorded_and_sampled(tmp_path):
    pytest.importorskip("matplotlib")
    from nomadtest.perf import plots

    recorder = store.Recorder(lambda: tmp_path / "metrics.json", lambda: dict(RUN))
    recorder.record("startup", [0.2, 0.3], "s", owner=OUTSIDE_ROBOT)
    recorder.record("elsewhere", [1.0], "s", owner="Other Suite")
    sampled = series()
    sampled.owner = OUTSIDE_ROBOT
    for second in range(3):
        sampled.add(reading(float(second)))
    drawn = plots.plot_owned(recorder, [sampled], None, None, True, tmp_path / "no-baseline.json")
    assert [path.name for path in drawn] == [
        "outside-Robot-Framework-metrics.png",
        "outside-Robot-Framework-usage-1-label.png",
    ]
    assert all(path.parent == tmp_path / "plots" for path in drawn)
    assert plots.plot_owned(store.Recorder(lambda: tmp_path / "m.json", dict), [], None, None, True, tmp_path) == []


# -- the measurement lock ------------------------------------------------------------------------------------------


def test_the_host_lock_is_exclusive_and_names_its_holder(tmp_path):
    path = tmp_path / "performance.lock"
    first, second = measurelock.HostLock(path), measurelock.HostLock(path)
    first.acquire(Deadline(1), "Suite A")
    first.acquire(Deadline(0), "Suite A")  # held already: nothing to do
    with pytest.raises(measurelock.MeasurementLockError, match=r"still held after .*: pid \d+ \(Suite A\) since"):
        second.acquire(Deadline(0.2), "Suite B")
    first.release()
    second.acquire(Deadline(1), "Suite B")
    assert second.held and "Suite B" in second.holder()
    second.release()
    assert not second.held and second.holder() == ""


class FakePabotServer:
    """PabotLib's lock semantics: one holder per name."""

    def __init__(self, held_by: str | None = None) -> None:
        self.holder = held_by
        self.calls: list[tuple[str, list]] = []

    def run_keyword(self, name: str, args: list, kwargs: dict):
        self.calls.append((name, args))
        _, caller = args
        if name == "acquire_lock":
            if self.holder not in (None, caller):
                return False
            self.holder = caller
            return True
        assert name == "release_lock" and self.holder == caller
        self.holder = None
        return None


def test_the_pabot_lock_waits_a_bounded_time_then_says_so():
    busy = measurelock.PabotLock("uri", "me", remote=FakePabotServer(held_by="other"))
    with pytest.raises(measurelock.MeasurementLockError, match="still held by another pabot process after"):
        busy.acquire(Deadline(0.2))
    server = FakePabotServer()
    lock = measurelock.PabotLock("uri", "me", remote=server)
    lock.acquire(Deadline(1))
    lock.release()
    lock.release()  # not held any more: nothing sent
    assert server.calls == [
        ("acquire_lock", [measurelock.LOCK_NAME, "me"]),
        ("release_lock", [measurelock.LOCK_NAME, "me"]),
    ]


def test_outside_pabot_the_measurement_locks_are_the_host_lock_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(measurelock.runroot, "run_root", lambda: tmp_path)
    locks = measurelock.MeasurementLocks()
    assert not locks.held
    held = locks.acquire(Deadline(1), "Suite A")
    assert held == f"the measurement lock {tmp_path / measurelock.LOCK_FILE_NAME}"
    assert locks.held and locks.pabot is None and "Suite A" in locks.host.holder()
    locks.release()
    assert not locks.held
    locks.release()  # not held any more: nothing to do


def test_under_pabot_pabots_lock_is_taken_first_and_let_go_when_the_host_lock_is_not_had(tmp_path, monkeypatch):
    server = FakePabotServer()
    monkeypatch.setattr(measurelock.runroot, "run_root", lambda: tmp_path)
    monkeypatch.setattr(measurelock.robotvars, "pabotlib_uri", lambda: "127.0.0.1:8270")
    monkeypatch.setattr(measurelock.robotvars, "pabot_caller_id", lambda: "worker-1")
    real_pabot_lock = measurelock.PabotLock
    monkeypatch.setattr(measurelock, "PabotLock", lambda uri, caller: real_pabot_lock(uri, caller, remote=server))
    other = measurelock.HostLock(tmp_path / measurelock.LOCK_FILE_NAME)
    other.acquire(Deadline(1), "another run")
    locks = measurelock.MeasurementLocks()
    with pytest.raises(measurelock.MeasurementLockError, match="another run"):
        locks.acquire(Deadline(0.2), "Suite A")
    assert not locks.held and server.holder is None
    other.release()
    held = locks.acquire(Deadline(1), "Suite A")
    assert held.startswith(f"pabot's lock '{measurelock.LOCK_NAME}' and the measurement lock ")
    assert server.holder == "worker-1"
    locks.release()
    assert server.holder is None and not locks.held


def test_sampling_several_tasks_wants_one_label_per_job():
    library = Performance()
    with pytest.raises(ValueError, match="one label per job: 2 job"):
        library.sample_resource_usage_of_tasks("a", "b", labels=["only one"])
    with pytest.raises(ValueError, match="at least one job"):
        library.sample_resource_usage_of_tasks()

"""The bench's regression gate: ratios to references of the same run, tolerances from the spread of runs."""

from __future__ import annotations

import pytest

from nomadtest.perf import gate
from nomadtest.perf.figures import Metric, MetricError

HOST = {"cpu_model": "Xeon", "cpus": 2, "kernel": "6.1", "hostname": "a", "memory_mib": 1024}
SCALES = {"start_latency_raw_exec": 0.10, "start_latency_direct": 0.03, "framework_submit_nomad": 0.01}


def bench_run(scale: float = 1.0, crunjar: float = 0.1, host: dict | None = None, skip: str = "") -> gate.BenchRun:
    """A run on a host ``scale`` times slower than the first, crunjar taking ``crunjar`` s there."""
    medians = {of: 1.0 for of, _ in gate.RATIOS.values()} | {to: 1.0 for _, to in gate.RATIOS.values()}
    medians |= SCALES | {"start_latency_crunjar": crunjar, "framework_submit": 0.02}
    metrics = {name: Metric(name, "s", [value * scale]) for name, value in medians.items() if name != skip}
    return gate.BenchRun(metrics, {name: host or HOST for name in metrics})


def baseline(*crunjar: float) -> dict:
    return gate.make_baseline([bench_run(crunjar=value) for value in crunjar], {"git_commit": "abc"}, "quiet")


def test_each_ratio_gets_the_median_spread_and_a_tolerance_from_the_spread_of_the_runs():
    made = baseline(0.10, 0.11, 0.09)
    entry = made["ratios"]["start_crunjar_to_raw_exec"]
    assert entry["runs"] == pytest.approx([1.0, 1.1, 0.9]) and entry["median"] == pytest.approx(1.0)
    assert entry["spread"] == pytest.approx(0.2) and entry["tolerance"] == pytest.approx(0.4)
    assert made["ratios"]["framework_submit_to_nomad"]["tolerance"] == gate.MIN_TOLERANCE  # no spread: the floor
    assert made["fingerprint"] == {"cpu_model": "Xeon", "cpus": 2, "kernel": "6.1"}
    assert made["metrics"]["start_latency_crunjar"]["median"] == pytest.approx(0.10)
    assert made["bench_runs"] == 3 and "2 x spread" in made["tolerance_rule"]


def test_a_baseline_needs_repeated_runs_that_measured_every_ratio():
    with pytest.raises(MetricError, match="at least two bench runs"):
        baseline(0.1)
    with pytest.raises(MetricError, match=r"'start_crunjar_to_direct' .* not measured in run\(s\) 2"):
        gate.make_baseline([bench_run(), bench_run(skip="start_latency_direct")], {})


def test_a_slower_host_passes_the_gate_and_its_absolutes_are_only_reported():
    made = baseline(0.10, 0.105, 0.095)
    verdicts = {verdict.name: verdict for verdict in gate.check(bench_run(scale=1.6), made)}
    assert not any(verdict.fails_gate for verdict in verdicts.values())
    assert verdicts["start_crunjar_to_raw_exec"].change == pytest.approx(0.0)
    slower = verdicts["start_latency_crunjar"]
    assert slower.comparable and slower.regressed and slower.status == "beyond tolerance (not gated)"


def test_a_slower_driver_fails_the_gate_naming_the_ratio():
    made = baseline(0.10, 0.105, 0.095)
    verdicts = {verdict.name: verdict for verdict in gate.check(bench_run(crunjar=0.15), made)}
    assert verdicts["start_crunjar_to_raw_exec"].fails_gate
    assert verdicts["start_crunjar_to_raw_exec"].status == "REGRESSED"
    assert verdicts["start_crunjar_to_raw_exec"].change == pytest.approx(0.5)
    assert not verdicts["framework_submit_to_nomad"].fails_gate


def test_absolutes_of_another_kind_of_host_are_not_comparable_and_say_why():
    made = baseline(0.10, 0.105, 0.095)
    other = dict(HOST, kernel="6.18")
    verdicts = {verdict.name: verdict for verdict in gate.check(bench_run(scale=3, host=other), made)}
    crunjar = verdicts["start_latency_crunjar"]
    assert not crunjar.comparable and not crunjar.regressed and crunjar.status == "not comparable"
    assert crunjar.detail == "kernel '6.1' here '6.18'"


def test_a_ratio_not_measured_fails_the_gate():
    made = baseline(0.10, 0.105, 0.095)
    verdicts = {verdict.name: verdict for verdict in gate.check(bench_run(skip="framework_submit_nomad"), made)}
    missing = verdicts["framework_submit_to_nomad"]
    assert missing.current is None and missing.fails_gate and missing.status == "NOT MEASURED"


def test_a_baseline_without_ratios_is_refused():
    with pytest.raises(MetricError, match="predates the ratio gate"):
        gate.check(bench_run(), {"metrics": {}})


def test_runs_that_agree_by_chance_get_the_spread_their_own_samples_make_likely():
    def noisy(offset: float) -> gate.BenchRun:
        run = bench_run()
        samples = [0.1 * (1 + offset + (-0.3 if n % 2 else 0.3)) for n in range(9)]
        crunjar = Metric("start_latency_crunjar", "s", samples)
        return gate.BenchRun({**run.metrics, "start_latency_crunjar": crunjar}, run.hosts)

    made = gate.make_baseline([noisy(0.0), noisy(0.001), noisy(-0.001)], {})
    entry = made["ratios"]["start_crunjar_to_raw_exec"]
    assert entry["spread_of_runs"] < 0.01 < entry["run_error"]
    assert entry["spread"] == pytest.approx(gate.EXPECTED_RANGE[3] * entry["run_error"])
    assert entry["tolerance"] == pytest.approx(2 * entry["spread"])
    again = gate.make_baseline([noisy(0.0), noisy(0.001), noisy(-0.001)], {})
    assert again["ratios"] == made["ratios"]  # the bootstrap is seeded: the same files make the same baseline

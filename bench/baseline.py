"""The bench's regression gate: check one `make bench` against bench/baseline.json, or make the baseline.

``check`` reads the latest record of each metric in a metrics file (one `make bench`) and prints,
per figure, the baseline, now, the change, the tolerance and the spread it came from. Ratios (a
figure over its reference measured in the same run: nomadtest.perf.gate.RATIOS) are the gate: it
exits 1 when one is worse than its baseline by more than its tolerance, or was not measured.
Absolute figures are compared only on a host whose fingerprint (CPU model, cores, kernel) is the
baseline's, and never fail the gate: a host of the same kind can be slower.

``save`` makes the baseline from the metrics files of repeated bench runs on one machine (three:
`make bench-baseline`): each figure's median over the runs, its spread ((max - min) / median) and
its tolerance, max(factor x spread, floor), where the spread is the runs' range or, when larger,
the range their own sampling errors (bootstrapped from each run's samples) make likely.

    .venv/bin/python bench/baseline.py check --metrics results/bench/metrics.json
    .venv/bin/python bench/baseline.py save --metrics results/bench-{1,2,3}/metrics.json --note "quiet 2-core VM"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from nomadtest.perf import figures, gate, regression, store

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_METRICS = ROOT / "results" / "bench" / store.METRICS_FILE_NAME
DEFAULT_BASELINE = ROOT / "bench" / "baseline.json"


def bench_run(path: Path) -> tuple[gate.BenchRun, list[dict]]:
    if not path.exists():
        raise figures.MetricError(f"{path} does not exist: run `make bench` first.")
    records = store.load_runs(path)
    return gate.BenchRun.from_latest(store.latest_metrics(records)), records


def row(verdict: gate.Verdict) -> str:
    now = "-" if verdict.current is None else figures.figure(verdict.current, verdict.unit)
    change = "" if verdict.change is None else f"{verdict.change:+.1%}"
    spread = f"{figures.percent(verdict.spread)} of {verdict.runs}" if verdict.runs else "?"
    return (
        f"{verdict.name:<44}{figures.figure(verdict.baseline, verdict.unit):>14}{now:>14}{change:>9}"
        f"{figures.percent(verdict.tolerance):>11}{spread:>12}  {verdict.status}"
    )


def header(label: str) -> str:
    return f"{label:<44}{'baseline':>14}{'now':>14}{'change':>9}{'tolerance':>11}{'spread':>12}  verdict"


def check(metrics_file: Path, baseline_file: Path) -> int:
    reference = regression.load_baseline(baseline_file)
    run, _ = bench_run(metrics_file)
    verdicts = gate.check(run, reference)
    print(
        f"Baseline {baseline_file}: {reference.get('bench_runs', '?')} bench runs, commit "
        f"{(reference.get('git_commit') or '?')[:12]}, {reference.get('created_at')}; tolerance "
        f"{reference.get('tolerance_rule', '?')}"
    )
    print(f"Metrics  {metrics_file}")
    host = next(iter(run.hosts.values()), {})
    differs = gate.fingerprint_difference(reference.get("fingerprint") or {}, host)
    print(f"Host     {gate.fingerprint(host)}: " + (f"NOT the baseline's ({differs})" if differs else "the baseline's"))
    print("\nRatios, each against its reference measured in the same run (gated):")
    print(header("ratio"))
    for verdict in verdicts:
        if verdict.kind == "ratio":
            print(row(verdict) + f"   [{verdict.detail}]")
    print("\nAbsolutes (compared on the baseline's kind of host only, not gated):")
    print(header("figure"))
    for verdict in verdicts:
        if verdict.kind == "absolute":
            print(row(verdict))
    failed = [verdict for verdict in verdicts if verdict.fails_gate]
    ratios = sum(verdict.kind == "ratio" for verdict in verdicts)
    if failed:
        print(f"\n{len(failed)} of {ratios} ratio(s) regressed or not measured:", file=sys.stderr)
        for verdict in failed:
            now = "not measured" if verdict.current is None else f"{verdict.current:.4g}x ({verdict.change:+.1%})"
            print(
                f"  {verdict.name} [{verdict.detail}]: {now}, baseline {verdict.baseline:.4g}x, tolerance "
                f"{figures.percent(verdict.tolerance)} (spread {figures.percent(verdict.spread)} over "
                f"{verdict.runs} runs)",
                file=sys.stderr,
            )
        return 1
    print(f"\nAll {ratios} ratio(s) within their tolerance.")
    return 0


def save(metrics_files: list[Path], baseline_file: Path, note: str, factor: float, floor: float) -> int:
    runs, facts = [], {}
    for path in metrics_files:
        run, records = bench_run(path)
        runs.append(run)
        facts = gate.merged_facts(records)
    baseline = gate.make_baseline(runs, facts, note, factor, floor)
    store.write_json(baseline_file, baseline)
    print(f"{'ratio':<36}{'median':>12}{'range':>8}{'run error':>11}{'spread':>8}{'tolerance':>11}  over runs")
    for name, entry in baseline["ratios"].items():
        values = ", ".join(f"{value:.4g}" for value in entry["runs"])
        print(
            f"{name:<36}{entry['median']:>11.4g}x{figures.percent(entry['spread_of_runs']):>8}"
            f"{figures.percent(entry['run_error']):>11}{figures.percent(entry['spread']):>8}"
            f"{figures.percent(entry['tolerance']):>11}  {values}"
        )
    print(f"Tolerance: {baseline['tolerance_rule']}.")
    print(f"Saved {len(baseline['ratios'])} ratio(s) and {len(baseline['metrics'])} absolute(s) into {baseline_file}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="one bench run against the baseline")
    checking.add_argument("--metrics", type=Path, default=DEFAULT_METRICS)
    checking.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE)
    saving = commands.add_parser("save", help="a baseline from repeated bench runs")
    saving.add_argument("--metrics", type=Path, nargs="+", required=True, help="one metrics file per bench run")
    saving.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE)
    saving.add_argument("--note", default="", help="what the baseline is: machine kind, load")
    saving.add_argument("--spread-factor", type=float, default=gate.SPREAD_FACTOR)
    saving.add_argument("--min-tolerance", default=f"{gate.MIN_TOLERANCE:.0%}", help="floor of every tolerance")
    args = parser.parse_args()
    try:
        if args.command == "check":
            return check(args.metrics, args.baseline)
        floor = figures.parse_tolerance(args.min_tolerance)
        return save(args.metrics, args.baseline, args.note, args.spread_factor, floor)
    except figures.MetricError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

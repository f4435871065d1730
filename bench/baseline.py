"""Compare the latest medians in a metrics file with a baseline, or save them as the baseline.

``check`` takes each baseline metric's most recent record in the metrics file (``make bench``
writes one run record from the performance suite and one from ``start_latency.py``), prints a
table of baseline median, current median, change and tolerance, and exits 1 when any median is
worse than its baseline by more than the metric's tolerance, or was not measured at all.

``save`` writes the latest medians of the metrics named (all, without ``--names``) into the
baseline; metrics already there and not named keep their entries, and each keeps its tolerance
unless ``--tolerance`` or ``--tolerance-for`` says otherwise.

    .venv/bin/python bench/baseline.py check --metrics results/bench/metrics.json
    .venv/bin/python bench/baseline.py save --metrics results/bench/metrics.json \\
        --names startup_to_main,start_latency_crunjar --tolerance 20% --tolerance-for startup_to_main=30%
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from nomadtest.perf import figures, regression, store

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_METRICS = ROOT / "results" / "bench" / store.METRICS_FILE_NAME
DEFAULT_BASELINE = ROOT / "bench" / "baseline.json"


def check(metrics_file: Path, baseline_file: Path) -> int:
    if not metrics_file.exists():
        print(f"{metrics_file} does not exist: run `make bench` first.", file=sys.stderr)
        return 1
    reference = regression.load_baseline(baseline_file)
    latest = store.latest_metrics(store.load_runs(metrics_file))
    comparisons, missing = regression.check_all(latest, reference)
    host = reference.get("host") or {}
    print(
        f"Baseline {baseline_file}: commit {(reference.get('git_commit') or '?')[:12]}, {reference.get('created_at')}, "
        f"{host.get('cpus', '?')} CPUs {host.get('cpu_model', '')}, {host.get('memory_mib', '?')} MiB"
    )
    print(f"Metrics  {metrics_file}")
    print(f"{'metric':<44}{'baseline':>14}{'now':>14}{'change':>10}{'tolerance':>11}  verdict")
    for item in comparisons:
        run = latest[item.name][1]
        verdict = "REGRESSED" if item.regressed else "ok"
        before, now = figures.figure(item.baseline, item.unit), figures.figure(item.current, item.unit)
        print(
            f"{item.name:<44}{before:>14}{now:>14}{item.change:>+10.1%}{figures.percent(item.tolerance):>11}  "
            f"{verdict} (run {run.get('run')})"
        )
    for name in missing:
        print(f"{name:<44}{'':>14}{'-':>14}{'':>10}{'':>11}  NOT MEASURED")
    regressed = [item for item in comparisons if item.regressed]
    if regressed or missing:
        print(
            f"{len(regressed)} regression(s), {len(missing)} metric(s) not measured, of {len(reference['metrics'])}.",
            file=sys.stderr,
        )
        for item in regressed:
            print(item.describe(), file=sys.stderr)
        return 1
    print(f"All {len(comparisons)} metric(s) within their tolerance.")
    return 0


def save(
    metrics_file: Path, baseline_file: Path, names: list[str], tolerance: str | None, overrides: list[str], note: str
) -> int:
    runs = store.load_runs(metrics_file)
    latest = store.latest_metrics(runs)
    unknown = [name for name in names if name not in latest]
    if unknown:
        print(f"Not in {metrics_file}: {', '.join(unknown)} (it has: {', '.join(sorted(latest))})", file=sys.stderr)
        return 1
    chosen = [latest[name][0] for name in (names or sorted(latest))]
    existing = regression.load_baseline(baseline_file) if baseline_file.exists() else None
    kept = {
        name: figures.parse_tolerance(entry["tolerance"])
        for name, entry in (existing or {}).get("metrics", {}).items()
        if entry.get("tolerance") is not None
    }
    tolerances = {} if tolerance is not None else kept
    for override in overrides:
        name, _, value = override.partition("=")
        tolerances[name] = figures.parse_tolerance(value)
    default = figures.parse_tolerance(tolerance) if tolerance is not None else figures.DEFAULT_TOLERANCE
    new = regression.make_baseline(chosen, default, runs[-1], tolerances, note)
    store.write_json(baseline_file, regression.merge_baseline(existing, new))
    for metric in chosen:
        entry = new["metrics"][metric.name]
        median = figures.figure(entry["median"], metric.unit)
        print(f"{metric.name:<44}{median:>14}  tolerance {figures.percent(entry['tolerance'])}")
    print(f"Saved {len(chosen)} metric(s) into {baseline_file}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("check", "save"):
        command = commands.add_parser(name)
        command.add_argument("--metrics", type=Path, default=DEFAULT_METRICS)
        command.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE)
        if name == "save":
            command.add_argument("--names", default="", help="comma-separated metric names (default: all)")
            command.add_argument("--tolerance", help="tolerance of every metric saved, such as 20%%")
            command.add_argument("--tolerance-for", action="append", default=[], metavar="NAME=TOLERANCE")
            command.add_argument("--note", default="", help="what the baseline is: machine kind, load")
    args = parser.parse_args()
    try:
        if args.command == "check":
            return check(args.metrics, args.baseline)
        names = [name.strip() for name in args.names.split(",") if name.strip()]
        return save(args.metrics, args.baseline, names, args.tolerance, args.tolerance_for, args.note)
    except figures.MetricError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

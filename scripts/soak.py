"""Run the end-to-end suites again and again and report which tests flake.

Runs ``make test-e2e`` with every suite (odd runs: the framework's self-checks too) and ``make
test-e2e-parallel`` (even runs) ``--runs`` times, each into ``<results>/<n>/`` (its output.xml,
console log, leftover check, exit status and time kept), then prints one row per test that did
not pass every time (runs, fails, skips, the first failure message) and each run's leftover
check, writes the same table for every test to ``<results>/flakiness.tsv``, and combines every
run's output.xml into one report with rebot. Exits 1 when any test failed in any run, any run left
something behind, did not finish, or exited non-zero.

A test that fails in some runs and passes in others is flaky; one that fails in every run is
broken. Neither is retried: the table is there to find them and fix them.

``--stress`` runs a CPU burner beside each run (``stress-ng``, one worker per core at
``--stress-load`` percent), started with the run and stopped with it, and bounded by its own
``--timeout`` should the soak itself die: tests must hold their bounds on a busy host too.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor

# What a run records of itself (exit status, wall time) beside its output.xml.
RUN_RECORD = "soak-run.json"
LEFTOVER_LINE = re.compile(r"^leftover check of (?P<root>\S+): (?P<count>\d+) item\(s\) left behind by this run$", re.M)
# A failure message in the table is cut to this many characters, on one line.
MESSAGE_WIDTH = 100


@dataclass(frozen=True)
class Outcome:
    status: str  # PASS, FAIL or SKIP
    message: str


@dataclass
class Run:
    number: int
    mode: str  # "serial" or "pabot"
    rc: int | None  # None: the run left no record of its exit status
    seconds: float
    tests: dict[str, Outcome] = field(default_factory=dict)
    leftovers: int | None = None  # None: the check did not run or printed nothing
    leftover_lines: list[str] = field(default_factory=list)


@dataclass
class Row:
    test: str
    runs: int = 0
    fails: int = 0
    skips: int = 0
    first_failure: str = ""
    first_failed_run: int | None = None

    @property
    def flaky(self) -> bool:
        return 0 < self.fails < self.runs

    @property
    def broken(self) -> bool:
        return self.fails > 0 and self.fails == self.runs


def mode_of(number: int) -> str:
    """Odd runs are serial, even runs pabot: N runs give ceil(N/2) serial and floor(N/2) pabot."""
    return "serial" if number % 2 else "pabot"


class _Collector(ResultVisitor):
    def __init__(self) -> None:
        self.tests: dict[str, Outcome] = {}

    def visit_test(self, test) -> None:
        # The top suite's name differs between robot and pabot runs: names start below it.
        names = []
        suite = test.parent
        while suite is not None and suite.parent is not None:
            names.append(suite.name)
            suite = suite.parent
        name = ".".join([*reversed(names), test.name])
        self.tests[name] = Outcome(test.status, test.message)


def read_tests(output_xml: Path) -> dict[str, Outcome]:
    """Each test of an output.xml, by its name below the top suite."""
    collector = _Collector()
    ExecutionResult(str(output_xml)).visit(collector)
    return collector.tests


def parse_leftovers(console: str) -> tuple[int | None, list[str]]:
    """The count of the last leftover check in a run's console output, and its lines of leftovers."""
    matches = list(LEFTOVER_LINE.finditer(console))
    if not matches:
        return None, []
    lines = [line for line in console.splitlines() if line.startswith("left behind: ")]
    return int(matches[-1]["count"]), lines


def table(runs: Iterable[Run]) -> list[Row]:
    """One row per test seen in any run, in the order first seen."""
    rows: dict[str, Row] = {}
    for run in sorted(runs, key=lambda r: r.number):
        for name, outcome in run.tests.items():
            row = rows.setdefault(name, Row(name))
            row.runs += 1
            if outcome.status == "SKIP":
                row.skips += 1
            elif outcome.status == "FAIL":
                row.fails += 1
                if row.first_failed_run is None:
                    row.first_failed_run = run.number
                    row.first_failure = outcome.message
    return list(rows.values())


def write_table(rows: Iterable[Row], path: Path) -> None:
    """Every test's row, tab-separated, for a spreadsheet or a later comparison of soaks."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["test", "runs", "passes", "fails", "skips", "first failed run", "first failure"])
        for row in rows:
            passes = row.runs - row.fails - row.skips
            first_run = "" if row.first_failed_run is None else row.first_failed_run
            writer.writerow([row.test, row.runs, passes, row.fails, row.skips, first_run, one_line(row.first_failure)])


def one_line(message: str, width: int = MESSAGE_WIDTH) -> str:
    text = " ".join(message.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def report(runs: list[Run]) -> tuple[str, bool]:
    """The printed summary and whether the soak is clean (no failure, no leftover, every run read)."""
    rows = table(runs)
    failing = [row for row in rows if row.fails]
    lines = ["Runs:"]
    for run in runs:
        counted = [o.status for o in run.tests.values()]
        leftovers = "no leftover check" if run.leftovers is None else f"{run.leftovers} leftover(s)"
        rc = "?" if run.rc is None else run.rc
        lines.append(
            f"  {run.number:>3} {run.mode:<6} rc={rc:<3} {run.seconds:>6.0f} s  {len(counted)} tests, "
            f"{counted.count('PASS')} passed, {counted.count('FAIL')} failed, {counted.count('SKIP')} skipped; "
            f"{leftovers}"
        )
        lines += [f"        {line}" for line in run.leftover_lines]
    lines.append("")
    if failing:
        width = max(len(row.test) for row in failing)
        lines.append(f"{'Test':<{width}}  runs  fails  skips  first failure")
        for row in failing:
            kind = "flaky" if row.flaky else "broken"
            first = f"run {row.first_failed_run} ({kind}): {one_line(row.first_failure)}"
            lines.append(f"{row.test:<{width}}  {row.runs:>4}  {row.fails:>5}  {row.skips:>5}  {first}")
    else:
        lines.append("Every test passed in every run it ran in.")
    flaky = sum(row.flaky for row in rows)
    broken = sum(row.broken for row in rows)
    leftovers = sum(run.leftovers or 0 for run in runs)
    unread = sum(not run.tests or run.leftovers is None for run in runs)
    exited = sum(run.rc not in (0, None) for run in runs)
    lines.append(
        f"{len(runs)} run(s), {len(rows)} tests: {flaky} flaky, {broken} failing every time, "
        f"{leftovers} leftover(s), {unread} run(s) without results or leftover check, "
        f"{exited} run(s) exiting non-zero"
    )
    return "\n".join(lines), not failing and not leftovers and not unread and not exited


# The longest a burner runs if nobody stops it (a soak killed mid-run): longer than any run.
STRESS_BOUND_SECONDS = 3 * 3600


def stress_command(load: int, bound: int = STRESS_BOUND_SECONDS) -> list[str]:
    """stress-ng keeping every core ``load`` percent busy, ending by itself after ``bound`` seconds."""
    if not 1 <= load <= 100:
        raise ValueError(f"The stress load is a percentage from 1 to 100, not {load}.")
    return ["stress-ng", "--cpu", "0", "--cpu-load", str(load), "--timeout", f"{bound}s", "--quiet"]


@contextlib.contextmanager
def burning(command: list[str] | None) -> Iterator[None]:
    """Runs ``command`` (a CPU burner) in a session of its own while the block runs, then stops it and its workers."""
    if command is None:
        yield
        return
    if shutil.which(command[0]) is None:
        raise SystemExit(f"{command[0]} is not installed: run `make deps` (Debian package stress-ng).")
    burner = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(burner.pid, signal.SIGTERM)
        try:
            burner.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(burner.pid, signal.SIGKILL)
            burner.wait()


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    """Holds ``lock`` (flock) while a run goes, so runs of others on a shared host never overlap it."""
    if lock is None:
        yield
        return
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def soak_run(number: int, results: Path, make: list[str], lock: Path | None, stress: list[str] | None = None) -> Run:
    mode = mode_of(number)
    directory = results / str(number)
    directory.mkdir(parents=True, exist_ok=True)
    target = "test-e2e" if mode == "serial" else "test-e2e-parallel"
    console = directory / "console.log"
    print(f"soak run {number} ({mode}): make {target} into {directory}", flush=True)
    with held(lock), console.open("w") as log, burning(stress):
        started = time.monotonic()
        # E2E_SELECTION empty: serial runs take the framework's self-checks too, as pabot runs do.
        command = [*make, target, f"RESULTS={directory}", "E2E_SELECTION="]
        rc = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
        seconds = time.monotonic() - started
    record = {"rc": rc, "seconds": round(seconds, 1), "stress": " ".join(stress) if stress else None}
    (directory / RUN_RECORD).write_text(json.dumps(record) + "\n")
    return read_run(number, results)


def read_run(number: int, results: Path) -> Run:
    """A finished run from what it left in ``<results>/<number>/``."""
    directory = results / str(number)
    run = Run(number, mode_of(number), rc=None, seconds=0.0)
    if (directory / RUN_RECORD).is_file():
        record = json.loads((directory / RUN_RECORD).read_text())
        run.rc, run.seconds = record["rc"], record["seconds"]
    console = directory / "console.log"
    if console.is_file():
        run.leftovers, run.leftover_lines = parse_leftovers(console.read_text(errors="replace"))
    if (directory / "output.xml").is_file():
        run.tests = read_tests(directory / "output.xml")
    return run


def combine(results: Path, runs: list[Run], rebot: str) -> None:
    outputs = [str(results / str(run.number) / "output.xml") for run in runs if run.tests]
    if not outputs:
        return
    names = [f"--name=Soak of {len(runs)} runs", f"--outputdir={results}", "--output=output.xml"]
    subprocess.run([rebot, *names, "--log=log.html", "--report=report.html", *outputs], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--results", type=Path, default=Path("results/soak"))
    parser.add_argument("--make", default="make", help="the make command (for MAKEFLAGS and such)")
    parser.add_argument("--rebot", default=str(Path(sys.executable).with_name("rebot")))
    parser.add_argument("--lock", type=Path, help="a file to flock around each run (shared hosts)")
    parser.add_argument("--report-only", action="store_true", help="only read the runs already in --results")
    parser.add_argument("--stress", action="store_true", help="a CPU burner (stress-ng) beside each run")
    parser.add_argument("--stress-load", type=int, default=100, help="percent of each core it keeps busy")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    runs = []
    for number in range(1, args.runs + 1):
        if args.report_only:
            runs.append(read_run(number, args.results))
        else:
            stress = stress_command(args.stress_load) if args.stress else None
            runs.append(soak_run(number, args.results, [args.make, "--no-print-directory"], args.lock, stress))
    combine(args.results, runs, args.rebot)
    text, clean = report(runs)
    print(text)
    (args.results / "flakiness.txt").write_text(text + "\n")
    write_table(table(runs), args.results / "flakiness.tsv")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())

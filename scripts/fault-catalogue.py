"""Prove that the conformance kit catches driver bugs: crunjar's injected faults, one run each, per level.

For each fault of ``driver/FAULTS.md`` and each level of the kit (``--level sanity|agent|all``: the
plugin binary over Nomad's plugin protocol, then jobs through real agents) this runs only the tests
of that level that must catch it, against crunjar with ``CRUNJAR_FAULTS=<fault>`` in the environment
the plugin inherits (from the agents, or from robot at the sanity level), into
``<results>/<level>/<fault>/``.
A fault is caught when its run failed and each of its tests failed in its own body: a test that
passed but was failed by its suite's teardown, or never got past its suite's setup, caught nothing.
A control run first runs the same tests without any fault (``<results>/none/``); all must pass,
or a failure under a fault would prove nothing.

After every run, ``scripts/check-leftovers.py`` compares the host with a baseline taken just before
it: a run must leave nothing for the next one. What goes within a grace period was cleanup still
under way (a killed JVM not yet reaped), reported as such; the next run starts once it is gone.
What the leak checks inside the run found (``Resources leaked``) is reported per fault too.

Prints per level the control run's tests, a table of faults (fault, test, outcome, the test's time
and the first line of its failure message), each run's time, failures and leaks, then which level
caught each fault and ``N of N faults caught`` per level. Exits 1 unless every fault was caught at
every level run, the control runs passed and no run left anything behind.

    .venv/bin/python scripts/fault-catalogue.py                  # make test-faults
    .venv/bin/python scripts/fault-catalogue.py --level sanity   # the plugin level alone, in seconds
    .venv/bin/python scripts/fault-catalogue.py --fault drop-env --skip-control

The tests are chosen by their full names here, not by tags: the suites stay driver-agnostic and
know nothing of crunjar's faults.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from robot.api import ExecutionResult

ROOT = Path(__file__).resolve().parents[1]
FAULTS_VARIABLE = "CRUNJAR_FAULTS"
CONTROL = "none"
# Robot's own words for a test failed by its suite rather than by itself.
SUITE_SETUP_FAILED = "Parent suite setup failed:"
SUITE_TEARDOWN_FAILED = "Parent suite teardown failed:"
ALSO_SUITE_TEARDOWN_FAILED = "\n\nAlso parent suite teardown failed:"
LEAKED = re.compile(r"Resources leaked \((?P<count>\d+) item\(s\)")
LEFTOVER_COUNT = re.compile(r"^leftover check of \S+: (?P<count>\d+) item\(s\) left behind by this run$", re.M)
# How long the leftover check waits for cleanup still under way, asking again every second.
LEFTOVER_GRACE_SECONDS = 30
# A run that takes longer is interrupted (SIGINT: robot runs its teardowns and stops its agents).
RUN_TIMEOUT_SECONDS = 15 * 60
INTERRUPT_GRACE_SECONDS = 120
MESSAGE_WIDTH = 90

SCENARIOS = "Suites.Scenarios"
STUBBORN_JVM_KILLED = f"{SCENARIOS}.Signals.Stubborn JVM Is Killed After Kill Timeout"
SHUTDOWN_HOOK_RUNS = f"{SCENARIOS}.Signals.SIGTERM Runs The Shutdown Hook Before The JVM Exits"


SANITY = "Suites.Sanity"
SANITY_STUBBORN = f"{SANITY}.Stop.Stubborn JVM Is Killed After The Kill Timeout"
SANITY_SHUTDOWN_HOOK = f"{SANITY}.Stop.Stop Sends SIGTERM And The JVM Runs Its Shutdown Hook"
LEVELS = ("sanity", "agent")


@dataclass(frozen=True)
class Fault:
    name: str
    tests: tuple[str, ...]  # full names of the agent-level tests that must fail with the fault on
    sanity: tuple[str, ...] = ()  # and of the sanity-level ones

    def at(self, level: str) -> tuple[str, ...]:
        return self.sanity if level == "sanity" else self.tests


# In the order of driver/FAULTS.md; each test checks what its fault breaks, as FAULTS.md says.
CATALOGUE = (
    Fault(
        "signal-crash",
        (f"{SCENARIOS}.Signals.Signal Task Leaves The Driver Plugin Running",),
        (f"{SANITY}.Signals.Signal Leaves The Plugin Running",),
    ),
    Fault("kill-runtime-only", (STUBBORN_JVM_KILLED,), (SANITY_STUBBORN,)),
    Fault(
        "drop-env",
        (f"{SCENARIOS}.Happy Path.Task Environment Is Visible To The JVM",),
        (f"{SANITY}.Lifecycle.Task Environment Reaches The JVM",),
    ),
    Fault(
        "no-alloc-mount",
        (f"{SCENARIOS}.Happy Path.Tasks Of A Group Share Files Through The Alloc Dir",),
        (f"{SANITY}.Lifecycle.Task Shares The Alloc Dir With The Client",),
    ),
    Fault(
        "wrong-exit-code",
        (STUBBORN_JVM_KILLED, f"{SCENARIOS}.Resources.JVM Exceeding Its Memory Limit Is OOM Killed And Reported"),
        (SANITY_STUBBORN, f"{SANITY}.Signals.OOM Kill Is Reported With A Task Event"),
    ),
    Fault(
        "truncate-stdout",
        (f"{SCENARIOS}.Edge.Line Printed Right Before Exit Is In The Log", SHUTDOWN_HOOK_RUNS),
        (f"{SANITY}.Lifecycle.Line Printed Right Before Exit Reaches Stdout", SANITY_SHUTDOWN_HOOK),
    ),
    Fault(
        "survive-stop",
        (f"{SCENARIOS}.Lifecycle.Stopped Job Leaves No JVM Running", SHUTDOWN_HOOK_RUNS),
        (f"{SANITY}.Stop.Stopped Task Leaves Nothing Once Destroyed", SANITY_SHUTDOWN_HOOK),
    ),
    Fault(
        "recover-fails",
        (
            "Suites.Recovery.Agent Crash.Running Service Survives Five Client Crashes In A Row",
            "Suites.Recovery.Driver Plugin.Running Task Survives A Driver Plugin Crash And Ends With Its Own Exit Code",
        ),
        (f"{SANITY}.Recovery.Running Task Survives A Plugin Crash And Delivers Its Own Exit Code",),
    ),
    Fault(
        "leak-container",
        (f"{SCENARIOS}.Lifecycle.Purged Job Leaves Nothing Of Its Task On The Host",),
        (f"{SANITY}.Stop.Exited Task Leaves Nothing Once Destroyed",),
    ),
)


@dataclass(frozen=True)
class Result:
    status: str  # PASS, FAIL or SKIP as robot says
    message: str
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        """What the test did: ``failed`` only when it failed in its own body."""
        if self.status == "FAIL" and self.message.startswith(SUITE_SETUP_FAILED):
            return "suite setup failed"
        if self.status == "FAIL" and self.message.startswith(SUITE_TEARDOWN_FAILED):
            return "passed, failed by suite teardown"
        return {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}.get(self.status, self.status)


@dataclass
class Run:
    fault: str
    seconds: float
    rc: int
    tests: dict[str, Result] = field(default_factory=dict)
    leaks_found: list[str] = field(default_factory=list)  # leak checks of the run that failed
    left_behind: list[str] = field(default_factory=list)  # what the leftover check found after it
    leftover_check_ran: bool = False
    gone_late: int = 0  # leftovers that went within the grace period
    gone_after: float = 0.0

    @property
    def failed(self) -> bool:
        return self.rc != 0 and any(result.status == "FAIL" for result in self.tests.values())


def read_results(output_xml: Path) -> tuple[dict[str, Result], list[str]]:
    """Each test of a run by full name, and the leak checks that failed (test or suite teardown: items)."""
    result = ExecutionResult(str(output_xml))
    tests: dict[str, Result] = {}
    leaks: list[str] = []
    for test in result.suite.all_tests:
        tests[test.full_name] = Result(test.status, test.message, test.elapsed_time.total_seconds())
        own = test.message.split(ALSO_SUITE_TEARDOWN_FAILED)[0]
        if not own.startswith(SUITE_TEARDOWN_FAILED) and (found := LEAKED.search(own)):
            leaks.append(f"{test.name}: {found['count']} item(s)")
    suites = [result.suite]
    while suites:
        suite = suites.pop()
        suites.extend(suite.suites)
        if suite.teardown and suite.teardown.failed and (found := LEAKED.search(suite.message)):
            leaks.append(f"{suite.name} teardown: {found['count']} item(s)")
    return tests, leaks


def first_line(message: str, width: int = MESSAGE_WIDTH) -> str:
    line = next((text.strip() for text in message.splitlines() if text.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


def is_caught(fault: Fault, run: Run, level: str = "agent") -> bool:
    tests = fault.at(level)
    return (
        run.failed and bool(tests) and all(name in run.tests and run.tests[name].outcome == "failed" for name in tests)
    )


def level_table(faults: list[Fault], caught: dict[str, dict[str, bool]]) -> list[str]:
    """Which level caught each fault."""
    levels = list(caught)
    rows = [("fault", *(f"{level} level" for level in levels))]
    for fault in faults:
        rows.append((fault.name, *("caught" if caught[level][fault.name] else "MISSED" for level in levels)))
    return aligned(rows)


def control_passed(run: Run, tests: list[str]) -> bool:
    return run.rc == 0 and all(name in run.tests and run.tests[name].status == "PASS" for name in tests)


def short_name(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


def catch_table(faults: list[Fault], runs: dict[str, Run], level: str = "agent") -> list[str]:
    rows = [("fault", "expected test", "outcome", "seconds", "failure message (first line)")]
    for fault in faults:
        run = runs[fault.name]
        for name in fault.at(level):
            result = run.tests.get(name)
            if result is None:
                rows.append((fault.name, short_name(name), "not run", "", ""))
                continue
            message = first_line(result.message) if result.status == "FAIL" else ""
            rows.append((fault.name, short_name(name), result.outcome, f"{result.seconds:.1f}", message))
    return aligned(rows)


def control_table(run: Run, tests: list[str]) -> list[str]:
    rows = [("without a fault", "outcome", "seconds", "failure message (first line)")]
    for name in tests:
        result = run.tests.get(name)
        if result is None:
            rows.append((short_name(name), "not run", "", ""))
        else:
            message = first_line(result.message) if result.status == "FAIL" else ""
            rows.append((short_name(name), result.outcome, f"{result.seconds:.1f}", message))
    return aligned(rows)


def run_table(runs: list[Run]) -> list[str]:
    rows = [("run", "seconds", "tests failed", "leak checks that failed", "left behind after")]
    for run in runs:
        failed = sum(result.status == "FAIL" for result in run.tests.values())
        left = str(len(run.left_behind)) if run.leftover_check_ran else "not checked"
        if run.gone_late:
            left += f" ({run.gone_late} gone within {run.gone_after:.0f} s)"
        leaks = "; ".join(run.leaks_found) or "none"
        rows.append((run.fault, f"{run.seconds:.0f}", f"{failed} of {len(run.tests)}", leaks, left))
    return aligned(rows)


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def run_robot(fault: str, tests: list[str], directory: Path, level: str) -> Run:
    """One robot run of ``tests`` with ``fault`` injected (none for the control), then the leftover check."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    baseline = directory / "leftovers-before.json"
    leftovers = [sys.executable, str(ROOT / "scripts" / "check-leftovers.py"), "--baseline", str(baseline)]
    subprocess.run([*leftovers, "--save"], check=True)
    environment = {**os.environ, "NOMAD_DRIVER": "crunjar"}
    environment.pop(FAULTS_VARIABLE, None)
    if fault != CONTROL:
        environment[FAULTS_VARIABLE] = fault
    command = [
        sys.executable, "-m", "robot",
        # The checkout's libraries, whichever checkout the venv installed.
        "--pythonpath", str(ROOT / "libraries"),
        "--outputdir", str(directory),
        "--loglevel", "DEBUG:INFO",
        "--metadata", f"Injected fault:{fault}",
        "--metadata", f"Level:{level}",
        *(option for name in tests for option in ("--test", name)),
        str(ROOT / "suites"),
    ]  # fmt: skip
    started = time.monotonic()
    with (directory / "console.txt").open("w") as console:
        rc = bounded(subprocess.Popen(command, cwd=ROOT, env=environment, stdout=console, stderr=subprocess.STDOUT))
    seconds = time.monotonic() - started
    run = Run(fault, seconds, rc)
    if (directory / "output.xml").is_file():
        run.tests, run.leaks_found = read_results(directory / "output.xml")
    check_leftovers(run, leftovers, directory / "leftovers.txt")
    return run


def check_leftovers(run: Run, command: list[str], record: Path) -> None:
    """The leftover check, asked again while what it finds is going, up to the grace period."""
    started = time.monotonic()
    first: int | None = None
    with record.open("w") as checks:
        while True:
            check = subprocess.run(command, capture_output=True, text=True, check=False)
            checks.write(f"after {time.monotonic() - started:.1f} s:\n{check.stdout}{check.stderr}")
            run.leftover_check_ran = LEFTOVER_COUNT.search(check.stdout) is not None
            run.left_behind = [line for line in check.stdout.splitlines() if line.startswith("left behind: ")]
            first = len(run.left_behind) if first is None else first
            if not run.left_behind or time.monotonic() - started >= LEFTOVER_GRACE_SECONDS:
                break
            time.sleep(1)
    run.gone_late = first - len(run.left_behind)
    run.gone_after = time.monotonic() - started


def bounded(process: subprocess.Popen) -> int:
    """The exit status of a robot run, interrupted as a user would with Ctrl-C if it hangs."""
    try:
        return process.wait(RUN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(INTERRUPT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


def run_level(level: str, faults: list[Fault], results: Path, skip_control: bool) -> tuple[bool, dict[str, bool]]:
    """The control run and one run per fault at one level; prints its tables. Returns (clean, caught)."""
    selected = list(dict.fromkeys(name for fault in faults for name in fault.at(level)))
    plan = [(fault.name, list(fault.at(level))) for fault in faults]
    if not skip_control:
        plan.insert(0, (CONTROL, selected))
    runs: dict[str, Run] = {}
    for fault, tests in plan:
        print(f"{level} level, {fault}: {len(tests)} test(s) into {results / level / fault}", flush=True)
        runs[fault] = run_robot(fault, tests, results / level / fault, level)
    print(f"\n== {level} level")
    if not skip_control:
        print("\n".join(control_table(runs[CONTROL], selected)))
        print()
    print("\n".join(catch_table(faults, runs, level)))
    print()
    print("\n".join(run_table(list(runs.values()))))
    for run in runs.values():
        for line in run.left_behind:
            print(f"{run.fault}: {line}")
    print()
    good = True
    if not skip_control:
        control = runs[CONTROL]
        passed = sum(control.tests.get(name, Result("", "")).status == "PASS" for name in selected)
        print(f"{level} level control run without a fault: {passed} of {len(selected)} tests passed")
        good = control_passed(control, selected)
    leaky = [run.fault for run in runs.values() if run.left_behind or not run.leftover_check_ran]
    if leaky:
        print(f"{level} level runs that left something behind or were not checked: {', '.join(leaky)}")
    caught = {fault.name: is_caught(fault, runs[fault.name], level) for fault in faults}
    return good and not leaky, caught


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "faults")
    parser.add_argument("--fault", action="append", choices=[fault.name for fault in CATALOGUE], help="only these")
    parser.add_argument("--level", choices=(*LEVELS, "all"), default="all", help="the kit's level(s) to prove")
    parser.add_argument("--skip-control", action="store_true", help="no run without a fault first")
    args = parser.parse_args()
    if os.environ.get("NOMAD_ADDR", "").strip():
        print("The catalogue injects faults into agents it starts itself: unset NOMAD_ADDR.", file=sys.stderr)
        return 2
    faults = [fault for fault in CATALOGUE if not args.fault or fault.name in args.fault]
    levels = list(LEVELS) if args.level == "all" else [args.level]
    started = time.monotonic()
    clean, caught = True, {}
    for level in levels:
        level_clean, caught[level] = run_level(level, faults, args.results, args.skip_control)
        clean = clean and level_clean
    print("\n".join(level_table(faults, caught)))
    print(f"catalogue took {time.monotonic() - started:.0f} s")
    for level in levels:
        print(f"{level} level: {sum(caught[level].values())} of {len(faults)} faults caught")
    every = all(all(found.values()) for found in caught.values())
    return 0 if clean and every else 1


if __name__ == "__main__":
    sys.exit(main())

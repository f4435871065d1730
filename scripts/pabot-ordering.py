"""Write pabot's ``--ordering`` file from a run's output.xml: the longest suites first.

pabot hands suites to its workers in the order it is given; a long suite handed out last runs
alone while the other workers idle. Sorted longest first, the run ends about when its longest
suite does. Suites the file does not name (new ones) run after those it names, so a stale file
costs time, never coverage.

Timing suites (``area:performance``) hold one measurement lock, so they run one after another
whatever the order: one robot process runs them, as one item as long as all of them. Apart, each
waited on the lock while holding a process, and the lock passed on only when the next of them
happened to be handed out.

Short suites are packed into groups (``{`` ... ``}``), each group run by one robot process: a
robot process costs about a second of CPU before its first test (Python, Robot Framework and the
libraries), which on a small machine is time taken from the others.

    .venv/bin/python scripts/pabot-ordering.py results/output.xml > suites/pabot-ordering.txt

Given several output.xml files, each suite's time comes from the first that ran it: `make test-all`
runs only the suites beyond the kit's, so its own run comes first and a whole run fills in the rest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor

# A suite of fewer seconds than this shares a robot process with others, up to GROUP_SECONDS in all.
GROUP_UNDER = 15.0
GROUP_SECONDS = 30.0

LOCKED_TAG = "area:performance"
# Under pabot a timing suite's time includes its wait for the lock, which is no time of its own.
LOCK_KEYWORD = "Acquire Measurement Lock"


class SuiteTimes(ResultVisitor):
    """Each suite with tests of its own: its full name, its own seconds, and whether it takes the measurement lock.

    A suite seen in an earlier result keeps the time it had there."""

    def __init__(self) -> None:
        self.suites: list[tuple[str, float, bool]] = []

    def start_suite(self, suite) -> None:
        if suite.tests and suite.full_name not in (name for name, _, _ in self.suites):
            locked = any(LOCKED_TAG in test.tags for test in suite.tests)
            waited = _waited(suite.setup) if suite.has_setup else 0.0
            self.suites.append((suite.full_name, suite.elapsed_time.total_seconds() - waited, locked))


def _waited(keyword) -> float:
    if keyword.type in (keyword.KEYWORD, keyword.SETUP) and keyword.name == LOCK_KEYWORD:
        return keyword.elapsed_time.total_seconds()
    return sum(_waited(child) for child in getattr(keyword, "body", ()) if hasattr(child, "elapsed_time"))


def ordering(
    suites: list[tuple[str, float, bool]],
    group_under: float = GROUP_UNDER,
    group_seconds: float = GROUP_SECONDS,
) -> list[list[str]]:
    """Longest first, each item the suites one robot process runs: the timing suites together; unlocked
    suites shorter than ``group_under`` packed longest first into groups of up to ``group_seconds``;
    the others alone."""
    timing = sorted((suite for suite in suites if suite[2]), key=lambda suite: -suite[1])
    items = [([name], elapsed) for name, elapsed, locked in suites if not locked and elapsed >= group_under]
    if timing:
        items.append(([name for name, _, _ in timing], sum(elapsed for _, elapsed, _ in timing)))
    groups: list[tuple[list[str], float]] = []
    for name, elapsed, locked in sorted(suites, key=lambda suite: -suite[1]):
        if locked or elapsed >= group_under:
            continue
        fits = next((index for index, group in enumerate(groups) if group[1] + elapsed <= group_seconds), None)
        if fits is None:
            groups.append(([name], elapsed))
        else:
            names, total = groups[fits]
            groups[fits] = ([*names, name], total + elapsed)
    return [names for names, _ in sorted(items + groups, key=lambda item: -item[1])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outputs", type=Path, nargs="+", help="output.xml of runs (robot or pabot), first one first")
    parser.add_argument(
        "--group-under",
        type=float,
        default=GROUP_UNDER,
        help=f"seconds of a suite that shares a robot process (default {GROUP_UNDER:g})",
    )
    parser.add_argument(
        "--group-seconds",
        type=float,
        default=GROUP_SECONDS,
        help=f"seconds of suites one group holds at most (default {GROUP_SECONDS:g})",
    )
    args = parser.parse_args()
    times = SuiteTimes()
    for output in args.outputs:
        ExecutionResult(str(output)).visit(times)
    if not times.suites:
        print(f"{', '.join(map(str, args.outputs))}: no suite with tests.", file=sys.stderr)
        return 1
    # pabot reads every line of the file as an item: no room for comments.
    for names in ordering(times.suites, args.group_under, args.group_seconds):
        lines = [f"--suite {name}" for name in names]
        print("\n".join(["{", *lines, "}"] if len(lines) > 1 else lines))
    for name, elapsed, locked in sorted(times.suites, key=lambda suite: -suite[1]):
        print(f"{elapsed:7.1f} s  {name}{'  (measurement lock)' if locked else ''}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write pabot's ``--ordering`` file from a run's output.xml: the longest suites first.

pabot hands suites to its workers in the order it is given; a long suite handed out last runs
alone while the other workers idle. Sorted longest first, the run ends about when its longest
suite does. Suites the file does not name (new ones) run after those it names, so a stale file
costs time, never coverage. Timing suites (``area:performance``) hold one measurement lock: they
are spaced ``--processes`` places apart where the order allows, so that they do not start together
and wait on each other.

    .venv/bin/python scripts/pabot-ordering.py results/output.xml > suites/pabot-ordering.txt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor

LOCKED_TAG = "area:performance"
# Under pabot a timing suite's time includes its wait for the lock, which is no time of its own.
LOCK_KEYWORD = "Acquire Measurement Lock"


class SuiteTimes(ResultVisitor):
    """Each suite with tests of its own: its full name, its own seconds, and whether it takes the measurement lock."""

    def __init__(self) -> None:
        self.suites: list[tuple[str, float, bool]] = []

    def start_suite(self, suite) -> None:
        if suite.tests:
            locked = any(LOCKED_TAG in test.tags for test in suite.tests)
            waited = _waited(suite.setup) if suite.has_setup else 0.0
            self.suites.append((suite.full_name, suite.elapsed_time.total_seconds() - waited, locked))


def _waited(keyword) -> float:
    if getattr(keyword, "name", "") == LOCK_KEYWORD:
        return keyword.elapsed_time.total_seconds()
    return sum(_waited(child) for child in getattr(keyword, "body", ()) if hasattr(child, "elapsed_time"))


def ordering(suites: list[tuple[str, float, bool]], processes: int) -> list[str]:
    """Longest first; a locked suite waits until ``processes`` places after the previous locked one."""
    pending = sorted(suites, key=lambda suite: -suite[1])
    order: list[str] = []
    last_locked = -processes
    while pending:
        pick = next(
            (suite for suite in pending if not suite[2] or len(order) - last_locked >= processes),
            pending[0],
        )
        pending.remove(pick)
        if pick[2]:
            last_locked = len(order)
        order.append(pick[0])
    return order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="output.xml of a whole run (robot or pabot)")
    parser.add_argument("--processes", type=int, default=4, help="pabot's --processes (default 4)")
    args = parser.parse_args()
    times = SuiteTimes()
    ExecutionResult(str(args.output)).visit(times)
    if not times.suites:
        print(f"{args.output} has no suite with tests.", file=sys.stderr)
        return 1
    # pabot reads every line of the file as an item: no room for comments.
    for name in ordering(times.suites, args.processes):
        print(f"--suite {name}")
    for name, elapsed, locked in sorted(times.suites, key=lambda suite: -suite[1]):
        print(f"{elapsed:7.1f} s  {name}{'  (measurement lock)' if locked else ''}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

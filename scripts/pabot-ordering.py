"""Write pabot's ``--ordering`` file from a run's output.xml: the longest suites first.

pabot hands suites to its workers in the order it is given; a long suite handed out last runs
alone while the other workers idle. Sorted longest first, the run ends about when its longest
suite does. Suites the file does not name (new ones) run after those it names, so a stale file
costs time, never coverage.

Timing suites (``area:performance``) hold one measurement lock: they are spaced ``--processes``
places apart where the order allows, so that they do not start together and wait on each other.
As they run one after another, the longest of them is placed as if it took all their time, so
that the last of them does not end the run.

Short suites are packed into groups (``{`` ... ``}``), each group run by one robot process: a
robot process costs about a second of CPU before its first test (Python, Robot Framework and the
libraries), which on a small machine is time taken from the others.

    .venv/bin/python scripts/pabot-ordering.py results/output.xml > suites/pabot-ordering.txt
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
    """Each suite with tests of its own: its full name, its own seconds, and whether it takes the measurement lock."""

    def __init__(self) -> None:
        self.suites: list[tuple[str, float, bool]] = []

    def start_suite(self, suite) -> None:
        if suite.tests:
            locked = any(LOCKED_TAG in test.tags for test in suite.tests)
            waited = _waited(suite.setup) if suite.has_setup else 0.0
            self.suites.append((suite.full_name, suite.elapsed_time.total_seconds() - waited, locked))


def _waited(keyword) -> float:
    if keyword.type in (keyword.KEYWORD, keyword.SETUP) and keyword.name == LOCK_KEYWORD:
        return keyword.elapsed_time.total_seconds()
    return sum(_waited(child) for child in getattr(keyword, "body", ()) if hasattr(child, "elapsed_time"))


def ordering(
    suites: list[tuple[str, float, bool]],
    processes: int,
    group_under: float = GROUP_UNDER,
    group_seconds: float = GROUP_SECONDS,
) -> list[list[str]]:
    """Longest first; a locked suite waits until ``processes`` places after the previous locked one.

    Each item is the suites one robot process runs: one, or a group of short ones.
    """
    items = _grouped(suites, group_under, group_seconds)
    locked = [item for item in items if item[2]]
    head = max(locked, key=lambda item: item[1], default=None)
    chain = sum(item[1] for item in locked)
    pending = sorted(items, key=lambda item: -(chain if item is head else item[1]))
    order: list[list[str]] = []
    last_locked = -processes
    while pending:
        pick = next(
            (item for item in pending if not item[2] or len(order) - last_locked >= processes),
            pending[0],
        )
        pending.remove(pick)
        if pick[2]:
            last_locked = len(order)
        order.append(pick[0])
    return order


def _grouped(suites: list[tuple[str, float, bool]], under: float, limit: float) -> list[tuple[list[str], float, bool]]:
    """Each suite alone, but unlocked ones shorter than ``under`` packed, longest first, into groups
    of up to ``limit`` seconds."""
    items = [([name], elapsed, locked) for name, elapsed, locked in suites if locked or elapsed >= under]
    groups: list[tuple[list[str], float, bool]] = []
    for name, elapsed, locked in sorted(suites, key=lambda suite: -suite[1]):
        if locked or elapsed >= under:
            continue
        fits = next((index for index, group in enumerate(groups) if group[1] + elapsed <= limit), None)
        if fits is None:
            groups.append(([name], elapsed, False))
        else:
            names, total, _ = groups[fits]
            groups[fits] = ([*names, name], total + elapsed, False)
    return items + groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="output.xml of a whole run (robot or pabot)")
    parser.add_argument("--processes", type=int, default=4, help="pabot's --processes (default 4)")
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
    ExecutionResult(str(args.output)).visit(times)
    if not times.suites:
        print(f"{args.output} has no suite with tests.", file=sys.stderr)
        return 1
    # pabot reads every line of the file as an item: no room for comments.
    for names in ordering(times.suites, args.processes, args.group_under, args.group_seconds):
        lines = [f"--suite {name}" for name in names]
        print("\n".join(["{", *lines, "}"] if len(lines) > 1 else lines))
    for name, elapsed, locked in sorted(times.suites, key=lambda suite: -suite[1]):
        print(f"{elapsed:7.1f} s  {name}{'  (measurement lock)' if locked else ''}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

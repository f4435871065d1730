"""Check a merged sharded run: every test the run selects is in the merged output exactly once.

    check-shards.py --merged results/output.xml results/shard-*-of-*.xml [-- ROBOT OPTIONS AND PATHS]

Fails when a test is in the merged output twice, ran in two shards, is missing from the merged
output, or (given the shards' robot options and paths after ``--``) when the tests differ from those
robot selects from those paths with those options. Prints the totals of the merged run.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor, TestSuiteBuilder
from robot.conf import RobotSettings
from robot.errors import DataError
from robot.run import RobotFramework


def below_root(test) -> str:
    """The test's full name without its top suite's, which pabot names after what a shard ran."""
    names = [test.name]
    suite = test.parent
    while suite.parent is not None:
        names.append(suite.name)
        suite = suite.parent
    return ".".join(reversed(names))


class _Tests(ResultVisitor):
    def __init__(self) -> None:
        self.names: list[str] = []
        self.statuses: Counter[str] = Counter()

    def visit_test(self, test) -> None:
        self.names.append(below_root(test))
        self.statuses[test.status] += 1


def executed(output: Path) -> _Tests:
    tests = _Tests()
    ExecutionResult(str(output)).suite.visit(tests)
    return tests


def selected(robot_arguments: list[str]) -> list[str]:
    """Names (below the top suite) of the tests robot would run with these options and paths."""
    options, sources = RobotFramework().parse_arguments(robot_arguments)
    settings = RobotSettings(options)
    builder = TestSuiteBuilder(included_extensions=settings.extension, allow_empty_suite=settings.run_empty_suite)
    suite = builder.build(*sources)
    suite.configure(**settings.suite_config)
    return [below_root(test) for test in suite.all_tests]


def problems(merged: list[str], shards: dict[str, list[str]], expected: list[str] | None) -> list[str]:
    """What is wrong with a merged run of these shards, given the test names of each (and of the whole run)."""
    found = []
    found += [f"{name}: {count} times in the merged output" for name, count in Counter(merged).items() if count > 1]
    ran_in: dict[str, list[str]] = {}
    for shard, names in shards.items():
        for name in names:
            ran_in.setdefault(name, []).append(shard)
    found += [f"{name}: ran in {', '.join(where)}" for name, where in ran_in.items() if len(where) > 1]
    found += [f"{name}: ran in {ran_in[name][0]}, not in the merged output" for name in ran_in if name not in merged]
    if expected is not None:
        found += [f"{name}: selected, but ran in no shard" for name in expected if name not in ran_in]
        wanted = set(expected)
        found += [f"{name}: ran, but the run selects no such test" for name in ran_in if name not in wanted]
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    robot_arguments = argv[argv.index("--") + 1 :] if "--" in argv else None
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merged", type=Path, required=True, help="the merged output.xml")
    parser.add_argument("shards", type=Path, nargs="+", help="each shard's output.xml")
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    try:
        merged = executed(args.merged)
        shards = {str(path): executed(path).names for path in args.shards}
    except DataError as error:
        print(f"check-shards: {error}", file=sys.stderr)
        return 1
    expected = selected(robot_arguments) if robot_arguments else None
    found = problems(merged.names, shards, expected)
    for problem in found:
        print(f"check-shards: {problem}", file=sys.stderr)
    words = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}
    totals = ", ".join(f"{merged.statuses[status]} {word}" for status, word in words.items())
    against = f", {len(expected)} selected" if expected is not None else ""
    verdict = f"{len(found)} problem(s)" if found else "every test exactly once"
    print(f"check-shards: {len(shards)} shards, {len(merged.names)} tests merged{against} ({totals}): {verdict}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""The capability matrix of a run: per capability its tests need, how many passed, were skipped, failed.

Counted from robot's own verdicts (``ExecutionResult`` of output.xml), so its "all tests" row is always
robot's total. How a suite's setup or teardown counts, as robot decides it:

- a suite setup that fails fails each test below it ("Parent suite setup failed"), unless the test
  needs what the driver lacks: NomadServer's listener keeps that one a skip, with both reasons
  (nomadtest.agents.needs), since its Test Setup would have skipped it;
- a suite teardown that fails fails each test below it that had not been skipped, passed ones too.

Such failures count as failures and are shown apart with their cause, and every failed suite setup or
teardown is listed with its message, even when all its tests stayed skips. A test counts in the row of
each capability it needs (``core`` when it needs none), so only "all tests" counts each test once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from robot.api import ExecutionResult
from robot.result import Result, TestSuite

from nomadtest import profiles

CORE = "core"
ALL_TESTS = "all tests"
STATUSES = {"PASS": "passed", "SKIP": "skipped", "FAIL": "failed"}
SUITE_SETUP = "suite setup"
SUITE_TEARDOWN = "suite teardown"
# Robot's messages for a test failed by an ancestor suite; "Also parent suite teardown failed"
# follows the test's own failure instead, which stays its own.
BLAMES = {"Parent suite setup failed:": SUITE_SETUP, "Parent suite teardown failed:": SUITE_TEARDOWN}


@dataclass(frozen=True)
class Verdict:
    """Robot's final status of one test, what it needs, and who failed it when not its own steps."""

    test: str
    status: str
    needs: tuple[str, ...]
    blame: str = ""


@dataclass(frozen=True)
class SuiteFailure:
    """A suite setup or teardown that failed, and what became of the tests below it."""

    suite: str
    phase: str
    message: str
    statuses: Counter

    def describe(self) -> str:
        first_line = self.message.strip().splitlines()[0] if self.message.strip() else "(no message)"
        counts = [f"{self.statuses[status]} {word}" for status, word in STATUSES.items() if self.statuses[status]]
        return f"{self.suite}, {self.phase}: {first_line} (its tests: {', '.join(counts) or 'none'})"


def verdict(test) -> Verdict:
    tags = [str(tag) for tag in test.tags]
    needs = tuple(tag[len(profiles.NEEDS_TAG_PREFIX) :] for tag in tags if tag.startswith(profiles.NEEDS_TAG_PREFIX))
    blame = ""
    if test.status == "FAIL":
        blame = next((phase for prefix, phase in BLAMES.items() if test.message.startswith(prefix)), "")
    return Verdict(test.full_name, test.status, needs or (CORE,), blame)


def suite_failures(suite: TestSuite) -> list[SuiteFailure]:
    """Every failed setup and teardown of ``suite`` and the suites below it, outermost first."""
    failed = []
    for each in _suite_and_descendants(suite):
        phases = ((SUITE_SETUP, each.has_setup, each.setup), (SUITE_TEARDOWN, each.has_teardown, each.teardown))
        for phase, present, step in phases:
            if present and step.status == "FAIL":
                statuses = Counter(test.status for test in each.all_tests)
                failed.append(SuiteFailure(each.full_name, phase, step.message, statuses))
    return failed


def _suite_and_descendants(suite: TestSuite) -> list[TestSuite]:
    return [suite, *(each for child in suite.suites for each in _suite_and_descendants(child))]


@dataclass(frozen=True)
class Matrix:
    driver: str
    verdicts: tuple[Verdict, ...]
    suite_failures: tuple[SuiteFailure, ...] = ()

    @classmethod
    def of(cls, result: Result, driver: str) -> Matrix:
        tests = tuple(verdict(test) for test in result.suite.all_tests)
        return cls(driver, tests, tuple(suite_failures(result.suite)))

    @classmethod
    def read(cls, output_xml: Path, driver: str) -> Matrix:
        return cls.of(ExecutionResult(output_xml), driver)

    def rows(self) -> dict[str, list[Verdict]]:
        """The tests of each capability, ``core`` first, then by name, ``all tests`` last."""
        rows: dict[str, list[Verdict]] = {}
        for each in self.verdicts:
            for capability in each.needs:
                rows.setdefault(capability, []).append(each)
        ordered = {name: rows[name] for name in sorted(rows, key=lambda name: (name != CORE, name))}
        return {**ordered, ALL_TESTS: list(self.verdicts)}

    def totals(self) -> Counter:
        return Counter(each.status for each in self.verdicts)

    def failed(self) -> bool:
        return self.totals()["FAIL"] > 0

    def table(self) -> list[list[str]]:
        """Header and one row per capability: pass, skip, and fail with the failures a suite caused."""
        lines = [["capability", "pass", "skip", "fail"]]
        for capability, tests in self.rows().items():
            counts = Counter(each.status for each in tests)
            blamed = Counter(each.blame for each in tests if each.blame)
            fail = str(counts["FAIL"])
            if blamed:
                fail += " (" + ", ".join(f"{blamed[phase]} by {phase}" for phase in sorted(blamed)) + ")"
            lines.append([capability, str(counts["PASS"]), str(counts["SKIP"]), fail])
        return lines

    def notes(self) -> str:
        """Paragraphs after the table: how to read it, and the suite setups and teardowns that failed."""
        notes = [
            f'A test counts in the row of each capability it needs ({CORE}: none); "{ALL_TESTS}" counts each '
            "test once, as robot's totals do."
        ]
        if self.suite_failures:
            listed = [f"- {failure.describe()}" for failure in self.suite_failures]
            notes.append(
                "\n".join(
                    [
                        "Suite setups and teardowns that failed (robot fails the tests below them, except those "
                        "skipped for a need the driver lacks):",
                        *listed,
                    ]
                )
            )
        return "\n\n".join(notes)

    def markdown(self) -> str:
        header, *rows = self.table()
        lines = [f"# Capability matrix of driver '{self.driver}'", "", _markdown_row(header), "|---|---|---|---|"]
        lines += [_markdown_row(row) for row in rows]
        return "\n".join([*lines, "", self.notes()]) + "\n"

    def robot_documentation(self) -> str:
        """The same in Robot Framework's documentation syntax, for log.html's metadata."""
        header, *rows = self.table()
        lines = [_markdown_row([f"={cell}=" for cell in header]), *(_markdown_row(row) for row in rows)]
        return "\n".join([*lines, "", self.notes()])


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"

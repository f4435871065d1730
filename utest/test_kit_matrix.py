"""The capability matrix adds up to robot's totals, suite setup and teardown failures included."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import robot
from robot.api import ExecutionResult

from nomadtest.agents.needs import UnmetNeedsListener
from nomadtest.kit.matrix import ALL_TESTS, SUITE_SETUP, SUITE_TEARDOWN, Matrix

OUTPUTS = Path(__file__).resolve().parent / "outputs"


def robot_totals(output_xml: Path) -> dict[str, int]:
    """The totals robot wrote into output.xml, as scripts/summarize.py reads them."""
    total = ET.parse(output_xml).getroot().find("./statistics/total/stat")
    return {"PASS": int(total.get("pass")), "SKIP": int(total.get("skip")), "FAIL": int(total.get("fail"))}


def row(matrix: Matrix, capability: str) -> list[str]:
    return next(line[1:] for line in matrix.table() if line[0] == capability)


@pytest.mark.parametrize("output", sorted(OUTPUTS.glob("*.xml")), ids=lambda path: path.stem)
def test_all_tests_is_robots_total(output):
    matrix = Matrix.read(output, "java")
    counted = {status: matrix.totals()[status] for status in ("PASS", "SKIP", "FAIL")}
    assert counted == robot_totals(output)
    assert [int(cell.split()[0]) for cell in row(matrix, ALL_TESTS)] == [
        counted["PASS"],
        counted["SKIP"],
        counted["FAIL"],
    ]
    stats = ExecutionResult(output).statistics.total
    assert (stats.passed, stats.skipped, stats.failed) == (counted["PASS"], counted["SKIP"], counted["FAIL"])


def test_a_failed_suite_teardown_fails_passed_tests_and_names_itself_as_the_cause():
    matrix = Matrix.read(OUTPUTS / "teardown_failed.xml", "java")
    blames = {each.test.split(".")[-1]: (each.status, each.blame) for each in matrix.verdicts}
    assert blames == {
        "Passes On Its Own": ("FAIL", SUITE_TEARDOWN),
        "Fails On Its Own": ("FAIL", ""),
        "Skipped For Isolation": ("SKIP", ""),
    }
    assert row(matrix, "core") == ["0", "0", "1 (1 by suite teardown)"]
    assert row(matrix, "signals") == ["0", "0", "1"]
    assert row(matrix, "isolation") == ["0", "1", "0"]
    assert "Conformance, suite teardown: 1 container left behind (its tests: 1 skipped, 2 failed)" in matrix.markdown()


def test_a_failed_suite_setup_fails_what_could_run_and_leaves_unmet_needs_skipped():
    matrix = Matrix.read(OUTPUTS / "setup_failed.xml", "java")
    assert row(matrix, "core") == ["0", "0", "1 (1 by suite setup)"]
    assert row(matrix, "isolation") == ["0", "1", "0"]
    assert row(matrix, "signals") == row(matrix, "exec") == ["1", "0", "0"]
    assert row(matrix, "nomad>=1.9.2") == ["0", "1", "0"]
    assert [line[0] for line in matrix.table()][1:] == [
        "core",
        "exec",
        "isolation",
        "nomad>=1.9.2",
        "signals",
        ALL_TESTS,
    ]
    assert "Suites.Container, suite setup: Job probe failed: exit code 1 (its tests: 1 skipped, 1 failed)" in (
        matrix.markdown()
    )


def test_a_failed_suite_setup_is_named_even_when_all_its_tests_stayed_skips():
    matrix = Matrix.read(OUTPUTS / "setup_failed_all_skipped.xml", "java")
    assert not matrix.failed()
    assert [failure.phase for failure in matrix.suite_failures] == [SUITE_SETUP]
    assert "Errors, suite setup: Agent did not start (its tests: 1 skipped)" in matrix.markdown()


def test_the_markdown_and_the_log_metadata_hold_the_same_table():
    matrix = Matrix.read(OUTPUTS / "setup_failed.xml", "java")
    markdown = matrix.markdown()
    assert markdown.startswith("# Capability matrix of driver 'java'\n\n| capability | pass | skip | fail |\n|---|")
    assert "| =capability= | =pass= | =skip= | =fail= |\n| core | 0 | 0 | 1 (1 by suite setup) |" in (
        matrix.robot_documentation()
    )


SUITE = """\
*** Settings ***
Suite Setup       Fail    agent did not start
Suite Teardown    Fail    leak found

*** Test Cases ***
Needs Nothing
    No Operation
Needs Isolation
    [Tags]    needs:isolation
    No Operation
"""


def test_robot_itself_keeps_an_unmet_need_a_skip_when_the_suite_setup_fails(tmp_path):
    suite = tmp_path / "kit.robot"
    suite.write_text(SUITE)
    output = tmp_path / "output.xml"
    listener = UnmetNeedsListener(lambda tags: "Driver lacks isolation." if "needs:isolation" in tags else None)
    robot.run(str(suite), output=str(output), log="NONE", report="NONE", stdout=io.StringIO(), listener=listener)
    matrix = Matrix.read(output, "java")
    assert {each.test: each.status for each in matrix.verdicts} == {
        "Kit.Needs Nothing": "FAIL",
        "Kit.Needs Isolation": "SKIP",
    }
    skipped = next(test for test in ExecutionResult(output).suite.all_tests if test.status == "SKIP")
    assert skipped.message.startswith("Driver lacks isolation.\n\nAlso parent suite setup failed:\nagent did not start")
    assert {status: matrix.totals()[status] for status in ("PASS", "SKIP", "FAIL")} == robot_totals(output)

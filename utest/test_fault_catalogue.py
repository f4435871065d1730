import importlib.util
import io
import sys
from pathlib import Path

import robot

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fault-catalogue.py"
_spec = importlib.util.spec_from_file_location("fault_catalogue", SCRIPT)
catalogue = importlib.util.module_from_spec(_spec)
# Its name has a hyphen, so it is loaded from its path; dataclasses look their module up by name.
sys.modules[_spec.name] = catalogue
_spec.loader.exec_module(catalogue)

Fault, Run, Result = catalogue.Fault, catalogue.Run, catalogue.Result
FAULT = Fault("drop-env", ("Top.Suite.Env Reaches The JVM",))


def test_only_a_test_failing_in_its_own_body_counts_as_failed():
    assert Result("FAIL", "env missing").outcome == "failed"
    assert Result("FAIL", "env missing\n\nAlso parent suite teardown failed:\nleak").outcome == "failed"
    assert Result("FAIL", "Parent suite teardown failed:\nleak").outcome == "passed, failed by suite teardown"
    assert Result("FAIL", "Parent suite setup failed:\nno agent").outcome == "suite setup failed"
    assert Result("SKIP", "lacks signals").outcome == "skipped"


def test_a_fault_is_caught_when_the_run_failed_in_each_expected_test():
    both = Fault("x", ("a", "b"))
    run = Run("x", 1.0, 1, tests={"a": Result("FAIL", "one"), "b": Result("FAIL", "two")})
    assert catalogue.is_caught(both, run)
    run.tests["b"] = Result("PASS", "")
    assert not catalogue.is_caught(both, run)
    run.tests["b"] = Result("FAIL", "Parent suite teardown failed:\nResources leaked (1 item(s) ...")
    assert not catalogue.is_caught(both, run)
    del run.tests["b"]
    assert not catalogue.is_caught(both, run)


def test_a_run_that_exited_cleanly_caught_nothing():
    run = Run("drop-env", 1.0, 0, tests={FAULT.tests[0]: Result("FAIL", "odd")})
    assert not catalogue.is_caught(FAULT, run)


def test_the_control_run_passes_only_when_every_selected_test_passed():
    run = Run("none", 1.0, 0, tests={"a": Result("PASS", ""), "b": Result("PASS", "")})
    assert catalogue.control_passed(run, ["a", "b"])
    assert not catalogue.control_passed(run, ["a", "b", "c"])
    run.tests["b"] = Result("SKIP", "lacks recovery")
    assert not catalogue.control_passed(run, ["a", "b"])


def test_results_name_tests_in_full_and_list_the_leak_checks_that_failed(tmp_path):
    suites = tmp_path / "Top"
    suites.mkdir()
    (suites / "suite.robot").write_text(
        "*** Settings ***\n"
        "Suite Teardown    Fail    Resources leaked (3 item(s) still held 30 s after the check began):\\nx\n"
        "*** Test Cases ***\n"
        "Env Reaches The JVM\n    Fail    env: HELLO_MODE missing\n"
        "Purged Job Leaves Nothing\n    Fail    Resources leaked (2 item(s) still held 30 s after the check began)\n"
        "Passes\n    No Operation\n"
    )
    output = tmp_path / "output.xml"
    robot.run(str(suites), output=str(output), log="NONE", report="NONE", stdout=io.StringIO())
    tests, leaks = catalogue.read_results(output)
    assert tests["Top.Suite.Env Reaches The JVM"].outcome == "failed"
    assert tests["Top.Suite.Passes"].outcome == "passed, failed by suite teardown"
    assert leaks == ["Purged Job Leaves Nothing: 2 item(s)", "Suite teardown: 3 item(s)"]


def test_the_table_shows_each_expected_test_with_its_first_message_line():
    run = Run("drop-env", 1.0, 1, tests={FAULT.tests[0]: Result("FAIL", "no line 'env: X'\nlast lines: ...")})
    header, row = catalogue.catch_table([FAULT], {"drop-env": run})
    assert header.split()[:2] == ["fault", "expected"]
    assert row.split("  ")[0] == "drop-env"
    assert "Env Reaches The JVM" in row and "failed" in row and row.endswith("no line 'env: X'")
    missing = catalogue.catch_table([FAULT], {"drop-env": Run("drop-env", 1.0, 1)})[1]
    assert "not run" in missing


def test_leftovers_that_go_within_the_grace_period_are_not_left_behind(tmp_path):
    # A leftover check that finds a JVM not yet reaped the first time it is asked, then nothing.
    checker = tmp_path / "check.py"
    checker.write_text(
        "import pathlib\n"
        f"asked = pathlib.Path({str(tmp_path / 'asked')!r})\n"
        "first = not asked.exists()\n"
        "asked.touch()\n"
        "if first:\n"
        "    print('left behind: container JVM 7: (gone)')\n"
        "print(f'leftover check of /tmp/nomad-e2e: {int(first)} item(s) left behind by this run')\n"
    )
    run = Run("survive-stop", 1.0, 1)
    catalogue.check_leftovers(run, [sys.executable, str(checker)], tmp_path / "leftovers.txt")
    assert (run.leftover_check_ran, run.left_behind, run.gone_late) == (True, [], 1)
    assert "container JVM 7" in (tmp_path / "leftovers.txt").read_text()


def test_a_leftover_check_that_prints_no_count_did_not_run(tmp_path):
    run = Run("drop-env", 1.0, 1)
    catalogue.check_leftovers(run, [sys.executable, "-c", "raise SystemExit(2)"], tmp_path / "leftovers.txt")
    assert not run.leftover_check_ran


def test_the_control_table_shows_each_selected_test_and_its_time():
    run = Run("none", 1.0, 0, tests={"Top.Suite.A": Result("PASS", "", 2.25)})
    header, passed, missing = catalogue.control_table(run, ["Top.Suite.A", "Top.Suite.B"])
    assert header.startswith("without a fault")
    assert passed.split() == ["A", "passed", "2.2"]
    assert missing.split() == ["B", "not", "run"]


def test_each_level_has_its_own_tests_and_a_fault_without_any_is_not_caught_there():
    both = Fault("x", ("Suites.Scenarios.a",), ("Suites.Sanity.b",))
    run = Run("x", 1.0, 1, tests={"Suites.Sanity.b": Result("FAIL", "seen")})
    assert catalogue.is_caught(both, run, "sanity")
    assert not catalogue.is_caught(both, run, "agent")
    assert not catalogue.is_caught(Fault("y", ("a",)), Run("y", 1.0, 1, tests={"a": Result("FAIL", "")}), "sanity")


def test_every_fault_of_the_catalogue_names_tests_at_both_levels():
    for fault in catalogue.CATALOGUE:
        assert fault.tests and fault.sanity, fault.name
        assert all(name.startswith("Suites.Sanity.") for name in fault.sanity)


def test_the_level_table_says_which_level_caught_each_fault():
    header, row = catalogue.level_table([FAULT], {"sanity": {"drop-env": True}, "agent": {"drop-env": False}})
    assert header.split() == ["fault", "sanity", "level", "agent", "level"]
    assert row.split() == ["drop-env", "caught", "MISSED"]

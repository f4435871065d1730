import io
import sys
from pathlib import Path

import psutil
import pytest
import robot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import soak
from soak import Outcome, Run

PASS = Outcome("PASS", "")


def run(number, **tests):
    return Run(number, soak.mode_of(number), 0, 1.0, tests=tests, leftovers=0)


def test_runs_alternate_serial_and_pabot():
    assert [soak.mode_of(n) for n in range(1, 5)] == ["serial", "pabot", "serial", "pabot"]


def test_table_counts_runs_fails_and_skips_and_keeps_the_first_failure():
    runs = [
        run(2, a=Outcome("FAIL", "second"), b=PASS),
        run(1, a=PASS, b=Outcome("SKIP", "no capability")),
        run(3, a=Outcome("FAIL", "third"), b=PASS),
    ]
    rows = {row.test: row for row in soak.table(runs)}
    assert (rows["a"].runs, rows["a"].fails, rows["a"].skips) == (3, 2, 0)
    assert (rows["a"].first_failed_run, rows["a"].first_failure) == (2, "second")
    assert rows["a"].flaky and not rows["a"].broken
    assert (rows["b"].runs, rows["b"].fails, rows["b"].skips) == (3, 0, 1)
    assert not rows["b"].flaky


def test_a_test_failing_every_time_is_broken_not_flaky():
    rows = soak.table([run(1, a=Outcome("FAIL", "x")), run(2, a=Outcome("FAIL", "y"))])
    assert rows[0].broken and not rows[0].flaky


def test_a_test_missing_from_a_run_counts_only_the_runs_it_ran_in():
    rows = {row.test: row for row in soak.table([run(1, a=PASS, b=PASS), run(2, a=PASS)])}
    assert rows["b"].runs == 1


def test_report_is_clean_only_without_failures_leftovers_or_unread_runs():
    text, clean = soak.report([run(1, a=PASS), run(2, a=PASS)])
    assert clean
    assert "2 run(s), 1 tests: 0 flaky, 0 failing every time, 0 leftover(s)" in text
    _, clean = soak.report([run(1, a=PASS), run(2, a=Outcome("FAIL", "boom"))])
    assert not clean
    leaky = run(1, a=PASS)
    leaky.leftovers = 2
    assert not soak.report([leaky])[1]
    unread = Run(1, "serial", 2, 1.0)
    text, clean = soak.report([unread])
    assert not clean
    assert "1 run(s) without results or leftover check" in text


def test_report_lists_failing_tests_with_their_first_message_on_one_line():
    long_message = "line one\nline two " + "x" * 200
    text, _ = soak.report([run(1, t=PASS), run(2, t=Outcome("FAIL", long_message))])
    row = next(line for line in text.splitlines() if line.startswith("t "))
    assert "run 2 (flaky): line one line two x" in row
    assert row.endswith("...")
    assert len(row.split(": ", 1)[1]) == soak.MESSAGE_WIDTH


def test_leftover_check_is_read_from_the_console_output():
    console = (
        "left by an earlier run: cgroup /sys/fs/cgroup/cpu/crunjar-old\n"
        "left behind: process 12: nomad agent\n"
        "leftover check of /tmp/nomad-e2e: 1 item(s) left behind by this run\n"
    )
    assert soak.parse_leftovers(console) == (1, ["left behind: process 12: nomad agent"])
    assert soak.parse_leftovers("make: *** [test-e2e] Error 1\n") == (None, [])


def test_tests_are_named_below_the_top_suite(tmp_path):
    suites = tmp_path / "Top"
    (suites / "inner").mkdir(parents=True)
    (suites / "inner" / "checks.robot").write_text(
        "*** Test Cases ***\nPasses\n    No Operation\nFails\n    Fail    on purpose\n"
    )
    output = tmp_path / "output.xml"
    robot.run(str(suites), output=str(output), log="NONE", report="NONE", stdout=io.StringIO(), name="Any Name")
    tests = soak.read_tests(output)
    assert tests == {"Inner.Checks.Passes": PASS, "Inner.Checks.Fails": Outcome("FAIL", "on purpose")}


def test_a_run_exiting_non_zero_is_not_clean_even_when_its_tests_passed():
    broken_make = Run(1, "serial", 2, 1.0, tests={"a": PASS}, leftovers=0)
    text, clean = soak.report([broken_make])
    assert not clean
    assert "1 run(s) exiting non-zero" in text
    unrecorded = Run(1, "serial", None, 0.0, tests={"a": PASS}, leftovers=0)
    text, clean = soak.report([unrecorded])
    assert clean
    assert "rc=?" in text


def test_the_full_table_lists_every_test_with_its_passes(tmp_path):
    rows = soak.table([run(1, a=PASS, b=PASS), run(2, a=PASS, b=Outcome("FAIL", "two\nlines"))])
    soak.write_table(rows, tmp_path / "flakiness.tsv")
    lines = (tmp_path / "flakiness.tsv").read_text().splitlines()
    assert lines == [
        "test\truns\tpasses\tfails\tskips\tfirst failed run\tfirst failure",
        "a\t2\t2\t0\t0\t\t",
        "b\t2\t1\t1\t0\t2\ttwo lines",
    ]


def test_report_only_reads_a_run_back_with_its_exit_status_and_time(tmp_path):
    directory = tmp_path / "1"
    directory.mkdir()
    (directory / soak.RUN_RECORD).write_text('{"rc": 0, "seconds": 575.2}\n')
    (directory / "console.log").write_text("leftover check of /tmp/x: 0 item(s) left behind by this run\n")
    run_back = soak.read_run(1, tmp_path)
    assert (run_back.rc, run_back.seconds, run_back.leftovers, run_back.tests) == (0, 575.2, 0, {})
    assert soak.read_run(2, tmp_path).rc is None


def test_the_stress_burner_keeps_every_core_busy_and_ends_by_itself():
    assert soak.stress_command(80, bound=60) == [
        "stress-ng",
        "--cpu",
        "0",
        "--cpu-load",
        "80",
        "--timeout",
        "60s",
        "--quiet",
    ]
    with pytest.raises(ValueError, match="from 1 to 100, not 0"):
        soak.stress_command(0)


def test_the_burner_runs_only_while_the_run_goes():
    with soak.burning(["sleep", "60"]):
        burners = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "60"]]
        assert burners
    assert not [p for p in burners if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

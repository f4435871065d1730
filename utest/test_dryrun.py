"""scripts/dryrun.py, make lint's dry run: it fails on what robot's own exit status lets through."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
GOOD_SUITE = "*** Test Cases ***\nFine\n    No Operation\n"


def dry_run(suites: Path, resources: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "libraries")}
    command = [sys.executable, str(REPO_ROOT / "scripts" / "dryrun.py"), "--suites", str(suites)]
    return subprocess.run(
        [*command, "--resources", str(resources)], capture_output=True, text=True, env=environment, check=False
    )


def test_a_clean_suite_and_resource_pass(tmp_path):
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "fine.robot").write_text(GOOD_SUITE)
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "fine.resource").write_text("*** Keywords ***\nK\n    No Operation\n")
    answer = dry_run(tmp_path / "suites", tmp_path / "resources")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "0 problem(s)" in answer.stdout


def test_an_unknown_keyword_in_a_suite_fails(tmp_path):
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "typo.robot").write_text("*** Test Cases ***\nTypo\n    No Operatoin\n")
    (tmp_path / "resources").mkdir()
    answer = dry_run(tmp_path / "suites", tmp_path / "resources")
    assert answer.returncode == 1
    assert "No keyword with name 'No Operatoin' found" in answer.stderr


def test_a_resource_no_suite_imports_is_still_checked(tmp_path):
    """Robot exits 0 here: the library import fails, but no test calls the resource's keywords."""
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "fine.robot").write_text(GOOD_SUITE)
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "broken.resource").write_text("*** Settings ***\nLibrary    NoSuchLibraryHere\n")
    answer = dry_run(tmp_path / "suites", tmp_path / "resources")
    assert answer.returncode == 1
    assert "NoSuchLibraryHere" in answer.stderr

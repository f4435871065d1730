"""suites/libraries/ResultFiles.py reads every text of a log.html, the compressed ones too."""

import subprocess
import sys
from pathlib import Path

import pytest
from robot.api.types import Secret

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "suites" / "libraries"))

from ResultFiles import ResultFiles, log_texts  # noqa: E402

# Long and repetitive, so that robot compresses it in log.html.
MESSAGE = "needle-" + "x" * 2000


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    directory = tmp_path_factory.mktemp("run")
    suite = directory / "logs.robot"
    suite.write_text(f"*** Test Cases ***\nLogs\n    Log    {MESSAGE}\n    Log    <secret>\n")
    command = [sys.executable, "-m", "robot", "--outputdir", str(directory), "--report", "NONE", str(suite)]
    subprocess.run(command, capture_output=True, check=True)
    return directory


def test_the_compressed_texts_of_log_html_are_read(results):
    assert MESSAGE not in (results / "log.html").read_text()
    assert MESSAGE in log_texts((results / "log.html").read_text())


def search(results, secret):
    return ResultFiles().result_files_should_not_contain_secret(str(results), Secret(secret), "output.xml", "log.html")


def test_a_secret_in_the_results_fails_without_naming_it(results):
    with pytest.raises(AssertionError) as failure:
        search(results, MESSAGE)
    assert str(failure.value) == (
        "The secret reached the results: output.xml holds it 2 times, log.html holds it 1 times."
    )


def test_results_without_the_secret_pass_and_count_the_placeholders(results):
    # In the Log keyword's argument and in its message.
    assert search(results, "absent") == 2

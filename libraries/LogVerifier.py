"""Robot Framework keywords for reading and verifying the stdout and stderr of Nomad tasks."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robotlibcore import DynamicCore

from nomadtest import diff, forensics, jobs, logs, waits
from nomadtest.client import NomadAPIError
from nomadtest.registry import REGISTRY
from nomadtest.timeouts import Deadline

DEFAULT_TIMEOUT = timedelta(seconds=60)
# Lines of the log quoted when an assertion about it fails.
QUOTED_LINES = 20


class LogVerifier(DynamicCore):
    """Read and verify the stdout and stderr of Nomad tasks.

    = Selecting the task =

    Every keyword takes the job id, then optionally ``stream`` (``stdout`` or ``stderr``, default
    ``stdout``), ``task`` (default: the only task of the job's group), ``alloc_id`` (default: the
    job's most recently created allocation) and ``agent`` (default: the Nomad agent started most
    recently), as the NomadJob library does.

    = Complete logs =

    Nomad rotates task logs into numbered files (``logs { max_files, max_file_size }`` in the
    job). `Get Task Logs` and the assertions read all the files Nomad still keeps, in order, so
    the text is complete unless Nomad has already deleted the oldest file. Bytes that are not
    UTF-8 are replaced with U+FFFD.

    = Failures =

    Assertions fail with the last lines of the log; `Task Log Should Be Equal` also logs a
    coloured unified diff.
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(self) -> None:
        super().__init__([])

    def _log(
        self, job_id: str, stream: str, task: str | None, alloc_id: str | None, agent: str | None
    ) -> tuple[str, str]:
        """The complete log, and how to name it in messages."""
        client = REGISTRY.client(agent)
        logs.check_stream(stream)
        alloc = jobs.select_allocation(client, job_id, alloc_id)
        name = jobs.resolve_task(alloc, task)
        try:
            text = logs.read_log(client, alloc["ID"], name, stream)
        except NomadAPIError as error:
            raise AssertionError(
                f"Cannot read {stream} of task '{name}' in allocation {jobs.short(alloc['ID'])}: {error.body}"
            ) from None
        return text, f"{stream.capitalize()} of task '{name}' (allocation {jobs.short(alloc['ID'])})"

    @staticmethod
    def _last_lines(text: str) -> str:
        lines = text.splitlines()[-QUOTED_LINES:]
        return f"Last {len(lines)} lines:\n" + "\n".join(lines) if lines else "The log is empty."

    @keyword
    def get_task_logs(
        self,
        job_id: str,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> str:
        """Returns the task's complete ``stream`` (``stdout`` or ``stderr``) as text.

        Examples:
        | ${out} = | `Get Task Logs` | ${job} |
        | ${err} = | `Get Task Logs` | ${job} | stderr | task=app |
        """
        text, what = self._log(job_id, stream, task, alloc_id, agent)
        logger.info(f"{what}: {len(text.encode())} bytes, {len(text.splitlines())} lines.")
        return text

    @keyword
    def wait_until_task_log_contains(
        self,
        job_id: str,
        text: str,
        stream: str = "stdout",
        regexp: bool = False,
        task: str | None = None,
        alloc_id: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        agent: str | None = None,
    ) -> str:
        """Waits until ``text`` appears in the task's log and returns the line(s) containing it.

        With ``regexp=True`` ``text`` is a regular expression (multi-line mode: ``^`` and ``$``
        match at line boundaries) matched against complete lines. Waits for the job's allocation
        and the task's start if needed, then follows the log. Fails at once when the task is dead
        and its log does not contain the text, or on timeout, with the last lines seen.

        Examples:
        | `Wait Until Task Log Contains` | ${job} | Started in |
        | ${line} = | `Wait Until Task Log Contains` | ${job} | listening on port \\\\d+ | regexp=True |
        | `Wait Until Task Log Contains` | ${job} | WARN | stream=stderr | timeout=10s |
        """
        client = REGISTRY.client(agent)
        logs.check_stream(stream)
        deadline = Deadline(timeout)
        matcher = logs.Matcher(text, regexp)
        alloc, name = waits.wait_for_task_started(client, job_id, deadline, task, alloc_id)

        def task_is_dead() -> bool:
            state = jobs.task_state(jobs.get_allocation(client, alloc["ID"]), name) or {}
            return state.get("State") == "dead"

        what = f"{stream.capitalize()} of task '{name}' (allocation {jobs.short(alloc['ID'])})"
        try:
            found = logs.follow_log(client, alloc["ID"], name, stream, matcher, deadline, task_is_dead)
        except logs.LogWaitError as error:
            current = jobs.get_allocation(client, alloc["ID"])
            raise AssertionError(
                f"{what} {error}.\n{self._last_lines(error.text)}\n" + forensics.describe_task(None, current, name)
            ) from None
        logger.info(f"{what} contains {matcher.description}: {found.lines}")
        return found.lines

    @keyword
    def task_log_should_contain(
        self,
        job_id: str,
        text: str,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails unless the task's log contains ``text``.

        Example:
        | `Task Log Should Contain` | ${job} | Hello from crunjar! |
        | `Task Log Should Contain` | ${job} | stderr line 1 | stream=stderr |
        """
        log, what = self._log(job_id, stream, task, alloc_id, agent)
        if text not in log:
            raise AssertionError(f"{what} does not contain '{text}'.\n{self._last_lines(log)}")

    @keyword
    def task_log_should_not_contain(
        self,
        job_id: str,
        text: str,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails if the task's log contains ``text``; the failure quotes the first line containing it.

        Example:
        | `Task Log Should Not Contain` | ${job} | Exception | stream=stderr |
        """
        log, what = self._log(job_id, stream, task, alloc_id, agent)
        position = log.find(text)
        if position >= 0:
            number = log.count("\n", 0, position) + 1
            end = log.find("\n", position)
            line = log[log.rfind("\n", 0, position) + 1 : end if end >= 0 else len(log)]
            raise AssertionError(f"{what} contains '{text}' on line {number}: {line}")

    @keyword
    def task_log_should_match_regexp(
        self,
        job_id: str,
        pattern: str,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> str:
        """Fails unless the regular expression ``pattern`` is found in the task's log; returns the match.

        The pattern is searched for (not anchored) in multi-line mode: ``^`` and ``$`` match at
        line boundaries.

        Example:
        | ${version} = | `Task Log Should Match Regexp` | ${job} | java.version: \\\\d+ |
        """
        log, what = self._log(job_id, stream, task, alloc_id, agent)
        found = re.search(pattern, log, re.MULTILINE)
        if not found:
            raise AssertionError(f"{what} does not match regexp '{pattern}'.\n{self._last_lines(log)}")
        return found.group(0)

    @keyword
    def task_log_should_be_equal(
        self,
        job_id: str,
        expected: str,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails unless the task's log is exactly ``expected``, line ends included.

        On a mismatch a unified diff (expected to actual) is logged, removed lines red and added
        lines green, and the failure says how many lines differ and quotes the first difference.

        Example:
        | `Task Log Should Be Equal` | ${job} | Hello from crunjar!\\nargs: a b\\n |
        """
        log, what = self._log(job_id, stream, task, alloc_id, agent)
        if log == expected:
            return
        lines = diff.unified_diff(expected, log, "expected", what)
        logger.info(f"{html.escape(what)} differs from the expected text:" + diff.diff_html(lines), html=True)
        raise AssertionError(diff.summary(expected, log, what))

    @keyword
    def task_log_line_count_should_be(
        self,
        job_id: str,
        expected: int,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails unless the task's log has ``expected`` lines (a last line without newline counts).

        Example:
        | `Task Log Line Count Should Be` | ${job} | 3 | stream=stderr |
        """
        log, what = self._log(job_id, stream, task, alloc_id, agent)
        count = len(log.splitlines())
        if count != expected:
            raise AssertionError(f"{what} has {count} lines, expected {expected}.\n{self._last_lines(log)}")

    @keyword
    def task_exit_code_should_be(
        self,
        job_id: str,
        expected: int,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails unless the task's last run exited with ``expected``; the failure shows its events and logs.

        Example:
        | `Wait For Task State` | ${job} | dead |
        | `Task Exit Code Should Be` | ${job} | 3 |
        """
        client = REGISTRY.client(agent)
        alloc = jobs.select_allocation(client, job_id, alloc_id)
        name = jobs.resolve_task(alloc, task)
        code = jobs.exit_code(jobs.task_state(alloc, name))
        if code != expected:
            seen = "has not terminated" if code is None else f"exited with {code}"
            raise AssertionError(
                f"Task '{name}' of allocation {jobs.short(alloc['ID'])} {seen}, expected exit code {expected}.\n"
                + forensics.describe_task(client, alloc, name)
            )

"""Keywords that check a task's log and exit code."""

from __future__ import annotations

import html
import re

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import diff
from nomadtest.jobs import forensics, logs, lookup
from nomadtest.library import ASSERTION, LibraryComponent
from nomadtest.registry import REGISTRY


class Assertions(LibraryComponent):
    """Check a task's log against text, patterns, exact content and line counts, and its exit code."""

    @keyword(tags=[ASSERTION])
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
        log, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        if text not in log:
            close = logs.closest_line(log, text)
            seen = f"The closest line seen: {close}\n" if close else ""
            raise AssertionError(f"{what} does not contain '{text}'.\n{seen}{logs.last_lines_note(log)}")

    @keyword(tags=[ASSERTION])
    def task_log_should_contain_lines(
        self,
        job_id: str,
        *lines: str,
        stream: str = "stdout",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails unless each of ``lines`` is a whole line of the task's log; the failure names those missing.

        Example:
        | `Task Log Should Contain Lines` | ${job} | Hello from crunjar! | args: a b |
        """
        log, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        seen = set(log.splitlines())
        missing = [line for line in lines if line not in seen]
        if missing:
            described = []
            for line in missing:
                close = logs.closest_line(log, line)
                described.append(f"'{line}'" + (f" (closest seen: '{close}')" if close else ""))
            raise AssertionError(f"{what} has no line {', '.join(described)}.\n{logs.last_lines_note(log)}")

    @keyword(tags=[ASSERTION])
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
        log, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        position = log.find(text)
        if position >= 0:
            number = log.count("\n", 0, position) + 1
            end = log.find("\n", position)
            line = log[log.rfind("\n", 0, position) + 1 : end if end >= 0 else len(log)]
            raise AssertionError(f"{what} contains '{text}' on line {number}: {line}")

    @keyword(tags=[ASSERTION])
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
        log, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        found = re.search(pattern, log, re.MULTILINE)
        if not found:
            raise AssertionError(f"{what} does not match regexp '{pattern}'.\n{logs.last_lines_note(log)}")
        return found.group(0)

    @keyword(tags=[ASSERTION])
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
        log, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        if log == expected:
            return
        lines = diff.unified_diff(expected, log, "expected", what)
        logger.info(f"{html.escape(what)} differs from the expected text:" + diff.diff_html(lines), html=True)
        raise AssertionError(diff.summary(expected, log, what))

    @keyword(tags=[ASSERTION])
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
        log, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        count = len(log.splitlines())
        if count != expected:
            raise AssertionError(f"{what} has {count} lines, expected {expected}.\n{logs.last_lines_note(log)}")

    @keyword(tags=[ASSERTION])
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
        client = REGISTRY.for_job(job_id, agent).client
        alloc = lookup.select_allocation(client, job_id, alloc_id)
        name = lookup.resolve_task(alloc, task)
        code = lookup.exit_code(lookup.task_state(alloc, name))
        if code != expected:
            seen = "has not terminated" if code is None else f"exited with {code}"
            raise AssertionError(
                f"Task '{name}' of allocation {lookup.short(alloc['ID'])} {seen}, expected exit code {expected}.\n"
                + forensics.describe_task(client, alloc, name)
            )

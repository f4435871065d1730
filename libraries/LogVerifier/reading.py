"""Keywords that read a task's log and wait for text in it."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.jobs import forensics, logs, lookup, waits
from nomadtest.library import QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, resolve


class Reading(LibraryComponent):
    """Read a task's stdout and stderr, and wait for what it prints."""

    @keyword(tags=[QUERY])
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
        text, what = logs.read_task_log(REGISTRY.for_job(job_id, agent).client, job_id, stream, task, alloc_id)
        logger.info(f"{what}: {len(text.encode())} bytes, {len(text.splitlines())} lines.")
        return text

    @keyword(tags=[WAIT])
    def wait_until_task_log_contains(
        self,
        job_id: str,
        text: str,
        stream: str = "stdout",
        regexp: bool = False,
        task: str | None = None,
        alloc_id: str | None = None,
        timeout: timedelta | None = None,
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
        timeout = resolve(timeout)
        client = REGISTRY.for_job(job_id, agent).client
        logs.check_stream(stream)
        deadline = Deadline(timeout)
        matcher = logs.Matcher(text, regexp)
        alloc, name = waits.wait_for_task_started(client, job_id, deadline, task, alloc_id)

        def task_is_dead() -> bool:
            state = lookup.task_state(lookup.get_allocation(client, alloc["ID"]), name) or {}
            return state.get("State") == "dead"

        what = f"{stream.capitalize()} of task '{name}' (allocation {lookup.short(alloc['ID'])})"
        try:
            found = logs.follow_log(client, alloc["ID"], name, stream, matcher, deadline, task_is_dead)
        except logs.LogWaitError as error:
            current = lookup.get_allocation(client, alloc["ID"])
            raise AssertionError(
                f"{what} {error}.\n{logs.last_lines_note(error.text)}\n" + forensics.describe_task(None, current, name)
            ) from None
        logger.info(f"{what} contains {matcher.description}: {found.lines}")
        return found.lines

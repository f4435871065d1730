"""Keywords that read and check a task's events."""

from __future__ import annotations

from robot.api.deco import keyword

from nomadtest.jobs import forensics, lookup
from nomadtest.library import ASSERTION, QUERY, LibraryComponent

from .state import select_task


class TaskEvents(LibraryComponent):
    """Read and check the events Nomad records for a task."""

    @keyword(tags=[QUERY])
    def get_task_events(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> list[dict]:
        """Returns the task's events, oldest first, each a dictionary of ``type``, ``message``, ``details``, ``time``.

        ``message`` is Nomad's display message (without the driver's gRPC wrapping), ``details``
        its detail map (``exit_code``, ``signal``...) and ``time`` a UTC datetime.

        Example:
        | ${events} = | `Get Task Events` | ${job} |
        | Should Be Equal | ${events}[-1][type] | Terminated |
        """
        alloc, name = select_task(job_id, task, alloc_id, agent)
        return lookup.task_events(lookup.task_state(alloc, name))

    @keyword(tags=[QUERY])
    def get_task_event_types(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> list[str]:
        """Returns the types of the task's events, oldest first, such as ``Received`` or ``Started``.

        Example:
        | ${types} = | `Get Task Event Types` | ${job} |
        | List Should Contain Value | ${types} | Started |
        """
        return [event["type"] for event in self.get_task_events(job_id, task, alloc_id, agent)]

    @keyword(tags=[ASSERTION])
    def task_event_types_should_be(
        self,
        job_id: str,
        *expected: str,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Fails unless the task's events are, by type and in order, exactly ``expected``.

        Example:
        | `Task Event Types Should Be` | ${job} | Received | Task Setup | Started | Terminated |
        """
        alloc, name = select_task(job_id, task, alloc_id, agent)
        seen = [event["type"] for event in lookup.task_events(lookup.task_state(alloc, name))]
        if seen != list(expected):
            raise AssertionError(
                f"The events of task '{name}' differ from those expected.\nExpected: {', '.join(expected)}\n"
                f"Seen:     {', '.join(seen)}\n" + forensics.describe_task(None, alloc, name)
            )

    @keyword(tags=[ASSERTION])
    def task_events_should_contain(
        self,
        job_id: str,
        event_type: str,
        message: str | None = None,
        regexp: bool = False,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
        ignore_case: bool = False,
    ) -> dict:
        """Fails unless the task has an event of ``event_type`` whose message contains ``message``.

        With ``regexp=True`` the message is a regular expression searched for in the event's
        message; with ``ignore_case=True`` the type and the message match whatever their case.
        Returns the first matching event; the failure lists every event seen.

        Examples:
        | `Task Events Should Contain` | ${job} | Terminated | Exit Code: 3 |
        | `Task Events Should Contain` | ${job} | Driver Failure | no such file | task=app |
        | `Task Events Should Contain` | ${job} | Restarting | ^Restart within policy$ | regexp=True |
        | `Task Events Should Contain` | ${job} | Driver Failure | NO SUCH FILE | ignore_case=True |
        """
        alloc, name, found = _find_events(job_id, event_type, message, regexp, task, alloc_id, agent, ignore_case)
        if found:
            return found[0]
        raise AssertionError(
            f"Task '{name}' of allocation {lookup.short(alloc['ID'])} has no event "
            f"{_wanted(event_type, message, regexp)}.\n" + forensics.describe_task(None, alloc, name)
        )

    @keyword(tags=[ASSERTION])
    def task_events_should_not_contain(
        self,
        job_id: str,
        event_type: str,
        message: str | None = None,
        regexp: bool = False,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
        ignore_case: bool = False,
    ) -> None:
        """Fails when the task has an event of ``event_type`` (whose message contains ``message``, if given).

        ``regexp`` and ``ignore_case`` are as for `Task Events Should Contain`.

        Examples:
        | `Task Events Should Not Contain` | ${job} | Restarting |
        | `Task Events Should Not Contain` | ${job} | Driver Failure | OOM |
        """
        alloc, name, found = _find_events(job_id, event_type, message, regexp, task, alloc_id, agent, ignore_case)
        if found:
            raise AssertionError(
                f"Task '{name}' of allocation {lookup.short(alloc['ID'])} has an event "
                f"{_wanted(event_type, message, regexp)}: {found[0]['message']}\n"
                + forensics.describe_task(None, alloc, name)
            )


def _find_events(
    job_id: str,
    event_type: str,
    message: str | None,
    regexp: bool,
    task: str | None,
    alloc_id: str | None,
    agent: str | None,
    ignore_case: bool = False,
) -> tuple[dict, str, list[dict]]:
    """The allocation, the task's name and its events of ``event_type`` whose message matches."""
    alloc, name = select_task(job_id, task, alloc_id, agent)
    events = lookup.task_events(lookup.task_state(alloc, name))
    return alloc, name, lookup.matching_events(events, event_type, message, regexp, ignore_case)


def _wanted(event_type: str, message: str | None, regexp: bool) -> str:
    wanted = f"'{event_type}'"
    if message is not None:
        wanted += f" with message {'matching' if regexp else 'containing'} '{message}'"
    return wanted

"""Keywords that look into a running driver task: output, events, exec, stats, inspect."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.library import ASSERTION, QUERY, WAIT, LibraryComponent
from nomadtest.plugin import waits
from nomadtest.waiting import Deadline

CALL_TIMEOUT = timedelta(seconds=30)
STREAMS = ("stdout", "stderr")


class TaskIO(LibraryComponent):
    """What a task prints, what the driver says of it, and commands run inside it."""

    @property
    def manager(self):
        return self.library.manager

    @keyword(tags=[QUERY])
    def get_driver_task_output(self, task: str, stream: str = "stdout", plugin: str | None = None) -> str:
        """What the task wrote to ``stream`` (stdout or stderr) so far, read from its log FIFO.

        Example:
        | ${err} = | `Get Driver Task Output` | hello | stderr |
        """
        return self.manager.find_task(task, plugin)[1].output(_stream(stream))

    @keyword(tags=[ASSERTION])
    def driver_task_output_should_contain(
        self, task: str, text: str, stream: str = "stdout", plugin: str | None = None
    ) -> None:
        """Fails unless the task's ``stream`` contains ``text``, showing its last lines.

        Example:
        | `Driver Task Output Should Contain` | hello | Hello from crunjar! |
        """
        output = self.get_driver_task_output(task, stream, plugin)
        if text not in output:
            raise AssertionError(
                f"The {stream} of driver task '{task}' does not contain '{text}'. Last lines:\n{waits.tail(output)}"
            )

    @keyword(tags=[WAIT])
    def wait_until_driver_task_output_contains(
        self,
        task: str,
        text: str,
        stream: str = "stdout",
        timeout: timedelta = timedelta(seconds=30),
        plugin: str | None = None,
    ) -> str:
        """Waits until the task's ``stream`` contains ``text``; returns the output. Fails with its last lines.

        Example:
        | `Wait Until Driver Task Output Contains` | service | ready |
        """
        task_found = self.manager.find_task(task, plugin)[1]
        return waits.wait_for_output(task_found, text, _stream(stream), Deadline(timeout))

    @keyword(tags=[QUERY])
    def get_driver_task_directory(self, task: str, name: str = "task", plugin: str | None = None) -> str:
        """The host path of one of the task's dirs: ``task`` (its task dir), ``alloc`` (the shared
        ``alloc/``), ``local``, ``secrets`` or ``tmp``.

        Example:
        | ${shared} = | `Get Driver Task Directory` | peer | alloc |
        """
        return str(self.manager.find_task(task, plugin)[1].environment.directory(name))

    @keyword(tags=[QUERY])
    def get_driver_task_events(self, task: str, plugin: str | None = None) -> list[str]:
        """The messages of the ``TaskEvents`` the plugin sent for the task since it was connected.

        Example:
        | ${events} = | `Get Driver Task Events` | hog |
        """
        session, found = self.manager.find_task(task, plugin)
        return [event.message for event in waits.events_of(session, found)]

    @keyword(tags=[WAIT])
    def wait_for_driver_task_event(
        self, task: str, text: str, timeout: timedelta = timedelta(seconds=30), plugin: str | None = None
    ) -> str:
        """Waits for a ``TaskEvents`` event of the task whose message contains ``text``; returns the message.

        Fails listing the task's events.

        Example:
        | ${event} = | `Wait For Driver Task Event` | hog | OOM |
        """
        session, found = self.manager.find_task(task, plugin)
        event = waits.wait_for_event(session, found, text, Deadline(timeout))
        logger.info(f"Driver task event at {event.timestamp:%H:%M:%S.%f}: {event.message} {event.annotations or ''}")
        return event.message

    @keyword(tags=[QUERY])
    def exec_in_driver_task(
        self,
        task: str,
        *command: str,
        streaming: bool = False,
        stdin: str = "",
        timeout: timedelta = CALL_TIMEOUT,
        plugin: str | None = None,
    ) -> dict:
        """Runs ``command`` inside the task; returns ``stdout``, ``stderr`` and ``exit_code``.

        ``ExecTask`` by default (Nomad's script checks); with ``streaming``
        ``ExecTaskStreaming``, as ``nomad alloc exec`` does, sending ``stdin`` first.

        Example:
        | ${result} = | `Exec In Driver Task` | service | /bin/sh | -c | echo hi |
        | ${result} = | `Exec In Driver Task` | service | cat | streaming=${True} | stdin=hello |
        """
        session, found = self.manager.find_task(task, plugin)
        deadline = Deadline(timeout)
        if streaming:
            result = session.client.exec_task_streaming(found.task_id, list(command), stdin.encode(), deadline)
        else:
            result = session.client.exec_task(found.task_id, list(command), timeout.total_seconds(), deadline)
        logger.info(
            f"Exec {list(command)} in '{task}': exit code {result['exit_code']}\n"
            f"stdout:\n{waits.tail(result['stdout'])}\nstderr:\n{waits.tail(result['stderr'])}"
        )
        return result

    @keyword(tags=[QUERY])
    def get_driver_task_stats(
        self,
        task: str,
        samples: int = 2,
        interval: timedelta = timedelta(milliseconds=500),
        timeout: timedelta = CALL_TIMEOUT,
        plugin: str | None = None,
    ) -> dict:
        """Reads ``samples`` answers of ``TaskStats`` at ``interval``; returns the last: ``memory_rss``,
        ``memory_usage``, ``cpu_percent``, ``cpu_total_ticks``, ``memory_measured``, ``cpu_measured``, ``pids``...

        Example:
        | ${stats} = | `Get Driver Task Stats` | service | |
        | Should Be True | ${stats}[memory_rss] > 0 | |
        """
        session, found = self.manager.find_task(task, plugin)
        stats = session.client.task_stats(found.task_id, interval.total_seconds(), int(samples), Deadline(timeout))
        if not stats:
            raise AssertionError(f"TaskStats of driver task '{task}' ended without a sample.")
        logger.info(f"TaskStats of '{task}': {stats[-1]}")
        return stats[-1]

    @keyword(tags=[QUERY])
    def inspect_driver_task(self, task: str, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT) -> dict:
        """``InspectTask``: ``state`` (running, exited, unknown), ``exit_code``, ``signal``, ``started_at``,
        ``completed_at`` and the driver's ``driver_attributes``.

        Example:
        | ${status} = | `Inspect Driver Task` | service | |
        | Should Be Equal | ${status}[state] | running | |
        """
        session, found = self.manager.find_task(task, plugin)
        return session.client.inspect_task(found.task_id, Deadline(timeout))


def _stream(stream: str) -> str:
    if stream not in STREAMS:
        raise ValueError(f"A task's output stream is stdout or stderr, not '{stream}'.")
    return stream

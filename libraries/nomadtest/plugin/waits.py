"""Waits on a driver plugin and its tasks; each fails with what it saw last, never a bare timeout."""

from __future__ import annotations

from nomadtest.plugin.client import Event, ExitResult, Fingerprint, PluginCallError
from nomadtest.plugin.session import DriverTask, PluginSession
from nomadtest.waiting import Deadline, Done, Pending, checked, poll

OUTPUT_POLL_SECONDS = 0.05
# How long WaitTask's caller waits for the task's output to be complete after it exited.
OUTPUT_GRACE_SECONDS = 5.0
TAIL_LINES = 20


def tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else "(nothing)"


def describe(session: PluginSession, task: DriverTask) -> str:
    """The task as the plugin and its output show it, for failure messages."""
    try:
        state = session.client.inspect_task(task.task_id, Deadline(5))
        seen = f"InspectTask: state {state['state']}, exit code {state['exit_code']}, signal {state['signal']}"
    except (PluginCallError, AttributeError) as error:
        seen = f"InspectTask failed: {error}"
    return f"{seen}\nstdout (last lines):\n{tail(task.output())}\nstderr (last lines):\n{tail(task.output('stderr'))}"


def wait_for_health(session: PluginSession, wanted: str, deadline: Deadline) -> Fingerprint:
    """The first fingerprint of ``wanted`` health from the plugin's stream."""
    last = None
    for fingerprint in session.client.fingerprints(deadline):
        last = fingerprint
        if fingerprint.health == wanted:
            return fingerprint
    seen = f"'{last.health}' ({last.description})" if last else "no fingerprint at all"
    raise AssertionError(
        f"Driver plugin '{session.name}' did not report health '{wanted}' within {deadline}: last {seen}."
    )


def wait_task(session: PluginSession, task: DriverTask, deadline: Deadline) -> ExitResult:
    """WaitTask's answer, and the task's output complete (the driver closed its log FIFOs)."""
    try:
        result = session.client.wait_task(task.task_id, deadline)
    except PluginCallError as error:
        if error.code != "DEADLINE_EXCEEDED":
            raise
        raise AssertionError(
            f"Driver task '{task.name}' did not exit within {deadline}.\n{describe(session, task)}"
        ) from None
    task.result = result
    # The log readers end when the last writer closes, normally with the task; a driver that keeps the
    # FIFOs open a while longer costs this much at most, and what arrives later is still read.
    for stream in (task.environment.stdout, task.environment.stderr):
        stream.closed.wait(min(max(deadline.remaining(), 0.1), OUTPUT_GRACE_SECONDS))
    return result


def wait_for_output(task: DriverTask, text: str, stream: str, deadline: Deadline) -> str:
    """The task's output once it contains ``text``."""

    def check():
        output = task.output(stream)
        if text in output:
            return Done(output)
        return Pending(tail(output))

    return checked(
        poll(check, deadline, OUTPUT_POLL_SECONDS),
        lambda last: AssertionError(
            f"The {stream} of driver task '{task.name}' did not contain '{text}' within {deadline}. "
            f"Last lines:\n{last.status}"
        ),
    )


def events_of(session: PluginSession, task: DriverTask) -> list[Event]:
    with session.client.events_changed:
        return [event for event in session.client.events if event.task_id == task.task_id]


def wait_for_event(session: PluginSession, task: DriverTask, text: str, deadline: Deadline) -> Event:
    """The first task event of the task whose message contains ``text``."""
    client = session.client
    with client.events_changed:
        while True:
            found = [e for e in client.events if e.task_id == task.task_id and text in e.message]
            if found:
                return found[0]
            if deadline.expired:
                break
            client.events_changed.wait(deadline.remaining())
    seen = "\n".join(f"{e.timestamp:%H:%M:%S.%f} {e.message}" for e in events_of(session, task)) or "(none)"
    raise AssertionError(
        f"Driver plugin '{session.name}' sent no event containing '{text}' for task '{task.name}' within "
        f"{deadline}. Its events:\n{seen}"
    )

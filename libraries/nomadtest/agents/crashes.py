"""Crashing driver plugins and tasks on purpose, and judging whether Nomad and the driver recovered.

A crash is recorded on the agent as a :class:`~nomadtest.registry.Disruption` (when, and how far
the agent log went), so that what follows is judged from there on only.
"""

from __future__ import annotations

import signal as signals
from collections.abc import Iterable
from pathlib import Path

import psutil
import requests

from nomadtest import profiles
from nomadtest.agents import agentlog, nodes
from nomadtest.api.client import NomadAPIError, api_path
from nomadtest.api.watch import watch
from nomadtest.jobs import lookup
from nomadtest.jobs.logs import Match
from nomadtest.registry import Agent, Disruption
from nomadtest.waiting import Deadline, Done, Impossible, Outcome, Pending, poll

# Task events that show a task was not recovered as it ran: it failed to restore, was restarted or ended.
NOT_RECOVERED_EVENTS = frozenset(
    {
        "Failed Restoring Task",
        "Driver Failure",
        "Restarting",
        "Not Restarting",
        "Terminated",
        "Killing",
        "Killed",
        "Task hook failed",
    }
)
# What Nomad's client logs about an allocation it could not restore after a restart; in one case
# ("error running alloc") it records no task event and leaves the allocation unmanaged.
NOT_RECOVERED_LOG = ("error recovering task", "error running alloc", "failed to create driver")
# Nomad's own words when a plugin process it launched ends: "plugin process exited: driver=crunjar ... id=1234".
PLUGIN_EXITED = "plugin process exited"
# How often process-table and agent-log waits look again: process births and deaths, and lines
# appended to a file, raise nothing to block on.
PROCESS_POLL_SECONDS = 0.05
LOG_POLL_SECONDS = 0.1
# Longest blocking query on an allocation while also watching the agent log.
ALLOC_BLOCK_SECONDS = 0.25


class LogGrowth:
    """Matches once a log holds a complete line past ``offset``: proof that output still flows."""

    description = "new output"

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def search(self, text: str, start: int = 0, complete_lines: bool = False) -> Match | None:
        end = text.rfind("\n")
        if end < self.offset:
            return None
        line_start = text.rfind("\n", 0, end) + 1
        return Match(text[self.offset : end + 1], text[line_start:end])

    def searched_until(self, text: str) -> int:
        return len(text)


def parse_signal(name: str) -> signals.Signals:
    text = str(name).upper()
    try:
        return signals.Signals[text if text.startswith("SIG") else f"SIG{text}"]
    except KeyError:
        raise ValueError(f"Unknown signal '{name}': use a name such as SIGKILL or SIGTERM.") from None


def plugin_binary(agent: Agent) -> str:
    return profiles.for_driver(agent.driver).plugin_binary


def plugin_processes(agent: Agent, binary: str) -> list[psutil.Process]:
    """The agent's children running ``binary``, without the driver's monitors."""
    if not agent.is_running:
        return []
    try:
        children = psutil.Process(agent.pid).children()
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            argv = child.cmdline()
            zombie = child.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            continue
        if argv and not zombie and Path(argv[0]).name == binary and argv[1:2] != ["monitor"]:
            found.append(child)
    return found


def wait_gone(process: psutil.Process, deadline: Deadline) -> None:
    """Until ``process`` has exited (a zombie counts as exited); fails with what it still is."""

    def check() -> Outcome:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return Done()
            return Pending(f"{process.status()}: {' '.join(process.cmdline())[:160]}")
        except psutil.NoSuchProcess:
            return Done()

    outcome = poll(check, deadline, PROCESS_POLL_SECONDS)
    if isinstance(outcome, Pending):
        raise AssertionError(f"Process {process.pid} is still running after {deadline} ({outcome.status}).")


def task_jvms(alloc_id: str, task: str) -> list[int]:
    """Pids of the JVMs whose environment names the allocation and task: works for any JAR driver."""
    wanted = {"NOMAD_ALLOC_ID": alloc_id, "NOMAD_TASK_NAME": task}
    found = []
    for process in psutil.process_iter(["name", "status"]):
        try:
            if process.info["name"] != "java" or process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            environ = process.environ()
        except psutil.Error:
            continue
        if all(environ.get(key) == value for key, value in wanted.items()):
            found.append(process.pid)
    return sorted(found)


def last_plugin_kill(agent: Agent) -> Disruption:
    for disruption in reversed(agent.disruptions):
        if disruption.what.startswith("driver plugin"):
            return disruption
    raise AssertionError(f"No driver plugin of Nomad agent '{agent.name}' was killed with 'Kill Driver Plugin'.")


def wait_for_new_plugin(agent: Agent, binary: str, previous_pid: int | None, deadline: Deadline) -> psutil.Process:
    def check() -> Outcome:
        current = [process for process in plugin_processes(agent, binary) if process.pid != previous_pid]
        return Done(current[0]) if current else Pending("no new plugin process")

    outcome = poll(check, deadline, PROCESS_POLL_SECONDS)
    if isinstance(outcome, Done):
        return outcome.value
    raise AssertionError(
        f"Nomad agent '{agent.name}' started no new {binary} process within {deadline} "
        f"(the killed one was pid {previous_pid}). Last lines of its log:\n{agentlog.tail(agent.log_path)}"
    )


def wait_for_log_line(agent: Agent, offset: int, needles: Iterable[str], deadline: Deadline) -> str | None:
    """The first complete agent log line past ``offset`` with every one of ``needles``, or None in time."""
    needles = list(needles)

    def check() -> Outcome:
        found = agentlog.lines_with(agent.log_path, offset, needles)
        return Done(found[0]) if found else Pending("not logged")

    outcome = poll(check, deadline, LOG_POLL_SECONDS)
    return outcome.value if isinstance(outcome, Done) else None


def wait_driver_healthy(agent: Agent, since: float, deadline: Deadline) -> None:
    """Until the servers' view of the node has the driver detected and healthy, fingerprinted after ``since``."""
    node_id = nodes.node_id(agent.client, agent.name)
    last = {"seen": "not seen yet"}

    def check(node: dict) -> Outcome:
        if nodes.driver_healthy_since(node, agent.driver, since):
            return Done()
        last["seen"] = nodes.describe_driver(node, agent.driver)
        return Pending(last["seen"])

    def unreachable(error: Exception) -> Outcome:
        last["seen"] = f"node not readable: {error}"
        return Pending(last["seen"])

    outcome = watch(agent.client, api_path("node", node_id), check, deadline, unreachable=unreachable)
    if not isinstance(outcome, Done):
        raise AssertionError(
            f"The node of Nomad agent '{agent.name}' did not report driver '{agent.driver}' healthy in a "
            f"fingerprint taken after the kill within {deadline}; last seen: {last['seen']}."
        )


def wait_for_driver_event(agent: Agent, text: str, since: float, deadline: Deadline) -> str:
    """The message of the node's first ``Driver`` event about the driver since ``since`` containing ``text``."""
    seen: list[str] = []

    def check(node: dict) -> Outcome:
        seen[:] = [
            event.get("Message", "")
            for event in node.get("Events") or []
            if event.get("Subsystem") == "Driver"
            and (event.get("Details") or {}).get("driver") == agent.driver
            and nodes.parse_time(event.get("Timestamp") or nodes.EPOCH) >= since
        ]
        matching = [message for message in seen if text in message]
        return Done(matching[0]) if matching else Pending("no such event")

    outcome = watch(agent.client, api_path("node", nodes.node_id(agent.client, agent.name)), check, deadline)
    if isinstance(outcome, Done):
        return outcome.value
    raise AssertionError(
        f"The node of Nomad agent '{agent.name}' reported no '{agent.driver}' driver event containing "
        f"'{text}' within {deadline}; driver events since then: {seen or 'none'}."
    )


def events_since(state: dict, since: float) -> str:
    events = [event for event in lookup.task_events(state) if event["time"].timestamp() >= since]
    if not events:
        return "No task events since then."
    return "Task events since then:\n" + "\n".join(
        f"  {event['time']:%H:%M:%S.%f} {event['type']}: {event['message']}" for event in events
    )


def wait_for_recovery_line(
    agent: Agent,
    alloc_id: str,
    task: str,
    recovery_log: str,
    disruption: Disruption | None,
    deadline: Deadline,
) -> str | None:
    """Wait for the driver's recovery line for the allocation; fail at once on an event showing it was not recovered."""
    since = disruption.at if disruption else 0.0
    offset = disruption.log_offset if disruption else 0
    crash = disruption.what if disruption else "the start"
    last: dict = {"state": {}}

    def judge(state: dict) -> Outcome:
        last["state"] = state
        about = agentlog.lines_with(agent.log_path, offset, (alloc_id,))
        recovered = [logged for logged in about if recovery_log in logged] if recovery_log else [""]
        failed = [logged for logged in about if any(text in logged for text in NOT_RECOVERED_LOG)]
        events = [
            event
            for event in lookup.task_events(state)
            if event["time"].timestamp() >= since and event["type"] in NOT_RECOVERED_EVENTS
        ]
        if events or failed or state.get("State") == "dead":
            return Impossible("not recovered")
        if recovered:
            return Done(recovered[0] or None)
        return Pending(state.get("State") or "unknown")

    outcome = watch(
        agent.client,
        api_path("allocation", alloc_id),
        lambda alloc: judge(lookup.task_state(alloc, task) or {}),
        deadline,
        # A short blocking query: returns at once when the allocation changes, else paces the log checks.
        longest=ALLOC_BLOCK_SECONDS,
        unreachable=lambda error: judge(last["state"]),  # the agent is still starting
    )
    if isinstance(outcome, Done):
        return outcome.value
    state = last["state"]
    if isinstance(outcome, Impossible):
        raise AssertionError(
            f"Task '{task}' was not recovered after {crash}.\n{events_since(state, since)}\n"
            + alloc_log_lines(agent, offset, alloc_id)
        )
    raise AssertionError(
        f"The log of Nomad agent '{agent.name}' shows no '{recovery_log}' for allocation {alloc_id} "
        f"within {deadline} of {crash}; the task is {state.get('State') or 'unknown'}.\n"
        f"{events_since(state, since)}\n" + alloc_log_lines(agent, offset, alloc_id)
    )


def alloc_log_lines(agent: Agent, offset: int, alloc_id: str, lines: int = 15) -> str:
    """The agent's log lines about the allocation since ``offset``, at INFO level and above."""
    found = [
        line.strip()
        for line in agentlog.lines_with(agent.log_path, offset, (alloc_id,))
        if not any(level in line for level in ("[DEBUG]", "[TRACE]"))
    ]
    if not found:
        return f"The agent log has no line about allocation {alloc_id} since then."
    return f"Agent log lines about allocation {lookup.short(alloc_id)} since then (last {lines}):\n" + "\n".join(
        found[-lines:]
    )


def recovery_timing(task: str, line: str | None, disruption: Disruption | None) -> str | None:
    """``Timing: ...`` of the driver's recovery of ``task``, from its log line's own timestamp."""
    recovered = agentlog.line_time(line) if line else None
    if recovered is None or disruption is None:
        return None
    parts = [f"{recovered - disruption.at:.3f} s after {disruption.what}"]
    if disruption.restarted_at is not None:
        parts.append(f"{recovered - disruption.restarted_at:.3f} s after the agent was started again")
    return f"Timing: the driver recovered task '{task}' " + ", ".join(parts) + "."


def collect_garbage(targets: Iterable[Agent]) -> list[str]:
    """Ask each live client to garbage-collect its terminal allocations; returns why some could not."""
    problems = []
    for target in targets:
        if target.is_client and target.is_running:
            try:
                target.client.put("/v1/client/gc")
            except (requests.RequestException, NomadAPIError) as error:
                problems.append(f"Nomad agent '{target.name}' could not garbage-collect its allocations: {error}")
    return problems

"""Knowing when started agents are ready: listening, a leader, a keyring, their nodes and driver healthy."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from nomadtest.agents import agentlog, nodes
from nomadtest.api.client import NomadAPIError, NomadClient
from nomadtest.api.watch import watch
from nomadtest.host import ports as portlib
from nomadtest.registry import Agent
from nomadtest.waiting import Deadline, Done, Impossible, Outcome, Pending, poll

T = TypeVar("T")


PortConflictError = portlib.PortConflictError


class AgentExitedError(AssertionError):
    """An agent process ended while we were waiting for it."""

    ROBOT_SUPPRESS_NAME = True

    def __init__(self, agent: Agent, log: str) -> None:
        self.agent = agent
        code = agent.process.returncode if agent.process else None
        # Nomad prints why it gave up ("==> Error ...") before its shutdown lines, often out of the tail.
        notable = agentlog.notable_lines(log)
        cause = "Its warnings and errors:\n" + "\n".join(notable) + "\n" if notable else ""
        super().__init__(
            f"Nomad agent '{agent.name}' exited with code {code} before it was ready.\n{cause}"
            f"Last lines of {agent.log_path}:\n{agentlog.last_lines(log, 30)}"
        )


class AgentNotReadyError(AssertionError):
    """An agent or cluster did not become ready in time."""

    ROBOT_SUPPRESS_NAME = True


def with_port_retry(
    launch: Callable[[portlib.AgentPorts], T],
    pick: Callable[[], portlib.AgentPorts],
    attempts: int = 3,
    on_retry: Callable[[portlib.AgentPorts, PortConflictError], None] | None = None,
) -> T:
    """Run ``launch`` with freshly picked ports, again with new ones when it lost a port race."""
    for attempt in range(1, attempts + 1):
        agent_ports = pick()
        try:
            return launch(agent_ports)
        except portlib.PortConflictError as conflict:
            if attempt == attempts:
                raise AgentNotReadyError(f"Gave up after {attempts} port conflicts: {conflict}") from None
            if on_retry:
                on_retry(agent_ports, conflict)
    raise AssertionError("unreachable")


def check_alive(agents: Iterable[Agent]) -> None:
    """Raise :class:`AgentExitedError`, or :class:`PortConflictError` when a port race killed it."""
    for agent in agents:
        if agent.process is not None and agent.process.poll() is not None:
            log = agentlog.since_last_start(agent.log_path)
            if portlib.is_port_conflict(log):
                raise PortConflictError(
                    f"Nomad agent '{agent.name}' could not bind its ports:\n{agentlog.last_lines(log, 30)}"
                )
            raise AgentExitedError(agent, log)


def wait_until_listening(agent: Agent, deadline: Deadline) -> None:
    """Until the agent's HTTP API answers. Nomad opens it after its RPC and Serf listeners,
    so an answer also means none of the ports was lost to a race."""

    def check() -> Outcome:
        check_alive([agent])
        try:
            agent.client.request("GET", "/v1/agent/self", timeout=2)
            return Done()
        except (requests.ConnectionError, requests.Timeout, NomadAPIError):
            return Pending("not listening")

    # The port is not open yet, so there is nothing to block on: poll, briefly.
    if not isinstance(poll(check, deadline, interval=0.02, longest_interval=0.25), Done):
        raise AgentNotReadyError(
            f"Nomad agent '{agent.name}' did not open its HTTP API at {agent.address} within {deadline}. "
            f"Last lines of {agent.log_path}:\n{agentlog.tail(agent.log_path)}"
        )


def leader(client: NomadClient) -> str:
    try:
        return client.get("/v1/status/leader") or ""
    except (requests.RequestException, NomadAPIError):
        return ""


def keyring_active(client: NomadClient) -> bool:
    try:
        keys = client.get("/v1/operator/keyring/keys") or []
    except (requests.RequestException, NomadAPIError):
        return False
    return any(key.get("State") == "active" for key in keys)


@dataclass
class NodeView:
    """What the last look at one expected client node showed."""

    name: str
    since: float
    node: dict | None = None

    @property
    def fingerprinted_since(self) -> bool:
        """Whether the node as seen carries a fingerprint of the agent process started at ``since``."""
        drivers = (self.node or {}).get("Drivers") or {}
        return any(nodes.parse_time(info.get("UpdateTime") or nodes.EPOCH) >= self.since for info in drivers.values())

    def ready(self, driver: str, require_driver: bool) -> bool:
        if not self.node or self.node.get("Status") != "ready":
            return False
        if require_driver:
            return nodes.driver_healthy_since(self.node, driver, self.since)
        return self.fingerprinted_since or nodes.driver_info(self.node, driver) is None

    def driver_missing(self, driver: str) -> bool:
        """Nomad sends a node's first fingerprints of every plugin it loaded with its registration:
        a fresh fingerprint without the driver means its plugin was never loaded."""
        return bool(self.node) and self.fingerprinted_since and nodes.driver_info(self.node, driver) is None

    def describe(self, driver: str) -> str:
        if not self.node:
            return f"node '{self.name}': not registered"
        status = f"node '{self.name}': status {self.node.get('Status')}"
        if nodes.driver_info(self.node, driver) is None:
            known = sorted(self.node.get("Drivers") or {})
            close = difflib.get_close_matches(driver, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            return (
                f"{status}; driver '{driver}'{hint} is not among its drivers ({', '.join(known) or 'none'}): "
                "is its plugin an executable file in the plugin_dir, named nomad-driver-<driver>?"
            )
        return f"{status}; {nodes.describe_driver(self.node, driver)}"


# A condition's answer meaning: the agent went away (restarted), wait for a leader again.
_AGAIN = Impossible("ask again")


def wait_until_ready(
    api: Agent,
    watched: list[Agent],
    since: Mapping[str, float],
    driver: str,
    deadline: Deadline,
    require_driver: bool = True,
    on_stuck_registration: Callable[[Agent], None] | None = None,
) -> None:
    """Wait for a leader and for every node in ``since`` (name → earliest valid fingerprint time).

    Ready means the node is ``ready`` and, with ``require_driver``, the driver detected and healthy
    in a fingerprint of the current process. ``api`` is the agent whose HTTP API is asked;
    ``watched`` are the processes whose exit fails the wait at once. ``on_stuck_registration`` is
    called, once per agent, for a client whose first registration failed while the server was
    not ready: Nomad would retry only after 15 to 30 seconds.
    """
    views = {name: NodeView(name, at) for name, at in since.items()}
    kicked: set[str] = set()

    def judge(data: Any) -> Outcome:
        check_alive(watched)
        by_name = {node["Name"]: node for node in data or []}
        for view in views.values():
            view.node = by_name.get(view.name)
        if all(view.ready(driver, require_driver) for view in views.values()):
            return Done()
        missing = [view for view in views.values() if view.driver_missing(driver)]
        if require_driver and missing:
            return Impossible("; ".join(view.describe(driver) for view in missing))
        for agent in watched:
            if agent.name in views and agent.name not in kicked and _registration_stuck(agent, views[agent.name]):
                kicked.add(agent.name)
                if on_stuck_registration:
                    on_stuck_registration(agent)
                    return _AGAIN
        return Pending("; ".join(view.describe(driver) for view in views.values()))

    def unreachable(error: Exception) -> Outcome:
        check_alive(watched)
        return _AGAIN

    while True:
        current_leader = _wait_for_leader(api, watched, deadline)
        if not current_leader:
            raise AgentNotReadyError(_not_ready_message(api, watched, views, driver, "", deadline))
        if not views:
            return
        outcome = watch(api.client, "/v1/nodes", judge, deadline, longest=2.0, unreachable=unreachable)
        if isinstance(outcome, Done):
            return
        if outcome is _AGAIN and not deadline.expired:
            continue
        reason = outcome.reason if isinstance(outcome, Impossible) and outcome is not _AGAIN else None
        raise AgentNotReadyError(_not_ready_message(api, watched, views, driver, current_leader, deadline, reason))


def _wait_for_leader(api: Agent, watched: list[Agent], deadline: Deadline) -> str:
    def check() -> Outcome:
        check_alive(watched)
        elected = leader(api.client)
        return Done(elected) if elected else Pending("no leader")

    # No blocking query exists for the first election: poll, briefly.
    outcome = poll(check, deadline, interval=0.02, longest_interval=0.25)
    return outcome.value if isinstance(outcome, Done) else ""


def persist_raft_snapshot(client: NomadClient) -> None:
    """Make the server write a local raft snapshot now, keyring included.

    A restarted server restores its keyring from its latest local snapshot before
    its election, otherwise only by replaying the log after it. Its own client's
    first calls after a restart are refused in that gap and retried only after
    15-30 s; by default Nomad snapshots only every 8192 log entries.
    """
    for _ in client.stream("/v1/operator/snapshot", timeout=30):
        pass


def _registration_stuck(agent: Agent, view: NodeView) -> bool:
    if view.node is not None and view.node.get("Status") != "initializing":
        return False
    return "client: error registering" in agentlog.since_last_start(agent.log_path) and keyring_active(agent.client)


def _not_ready_message(
    api: Agent,
    watched: list[Agent],
    views: Mapping[str, NodeView],
    driver: str,
    current_leader: str,
    deadline: Deadline,
    reason: str | None = None,
) -> str:
    if reason:
        parts = [f"Nomad cannot become ready: {reason}."]
    else:
        parts = [f"Nomad was not ready within {deadline}."]
        parts += [view.describe(driver) + "." for view in views.values()]
    parts.append(f"Leader: {current_leader or 'none elected'} (asked {api.address}).")
    for agent in watched:
        log = agentlog.since_last_start(agent.log_path)
        notable = agentlog.notable_lines(log)
        if notable:
            parts.append(f"Warnings and errors in the log of '{agent.name}':\n" + "\n".join(notable))
        parts.append(f"Last lines of {agent.log_path}:\n" + "\n".join(agentlog.quiet_lines(log, 15)))
    return "\n".join(parts)

"""Starting ``nomad agent`` processes and knowing when they are ready, without Robot Framework.

Ready means what a test needs before it can submit a job: a leader is elected
and every expected client node is ``ready`` with the driver under test detected
and healthy. Waits use Nomad's blocking queries and fail at once when an agent
process exits; a timeout reports what was last seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from . import ports as portlib
from .client import NomadAPIError, NomadClient
from .registry import Agent
from .templating import render

CLOUD_FINGERPRINTERS = "env_aws,env_gce,env_azure,env_digitalocean"
# The consul fingerprinter polls 127.0.0.1:8500 forever; there is no Consul here.
DEFAULT_CLIENT_OPTIONS = {"fingerprint.denylist": f"{CLOUD_FINGERPRINTERS},consul"}
TERMINAL_CLIENT_STATUSES = {"complete", "failed", "lost"}
# Settings the library derives itself; overriding them would break ports, cleanup or isolation.
RESERVED_SETTINGS = {"name", "data_dir", "plugin_dir", "ports", "bind_addr", "advertise", "addresses"}

T = TypeVar("T")
PortConflictError = portlib.PortConflictError


class AgentExitedError(AssertionError):
    """An agent process ended while we were waiting for it."""

    ROBOT_SUPPRESS_NAME = True

    def __init__(self, agent: Agent, log: str) -> None:
        self.agent = agent
        code = agent.process.returncode if agent.process else None
        # Nomad prints why it gave up ("==> Error ...") before its shutdown lines, often out of the tail.
        errors = [line for line in log.splitlines() if line.startswith(("==> Error", "\t* "))]
        cause = "\n".join(errors) + "\n" if errors else ""
        super().__init__(
            f"Nomad agent '{agent.name}' exited with code {code} before it was ready.\n{cause}"
            f"Last lines of {agent.log_path}:\n{_last_lines(log, 30)}"
        )


class AgentNotReadyError(AssertionError):
    """An agent or cluster did not become ready in time."""

    ROBOT_SUPPRESS_NAME = True


@dataclass
class AgentSettings:
    """Everything that goes into one agent's configuration besides its ports and directories."""

    name: str
    server: bool = True
    client: bool = True
    driver: str = "raw_exec"
    plugin_config: dict[str, Any] = field(default_factory=dict)
    datacenter: str = "dc1"
    region: str = "global"
    log_level: str = "DEBUG"
    bootstrap_expect: int = 1
    server_join: list[str] = field(default_factory=list)
    client_servers: list[str] = field(default_factory=list)
    node_class: str = ""
    network_interface: str = "lo"
    meta: dict[str, Any] = field(default_factory=dict)
    client_options: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CLIENT_OPTIONS))
    server_extra: dict[str, Any] = field(default_factory=dict)
    client_extra: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    extra_hcl: str = ""

    @property
    def role(self) -> str:
        return "+".join(part for part, enabled in (("server", self.server), ("client", self.client)) if enabled)

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Merge user overrides: known settings by name, ``server``/``client`` dicts into their blocks,
        anything else as a top-level attribute of the agent configuration."""
        for key, value in overrides.items():
            if key in RESERVED_SETTINGS:
                raise ValueError(f"'{key}' is managed by the library and cannot be overridden.")
            if key in ("server", "client") and isinstance(value, Mapping):
                self._merge_block(key, value)
            elif key in ("meta", "client_options") and isinstance(value, Mapping):
                getattr(self, key).update(value)
            elif key in self.__dataclass_fields__ and key not in ("name", "server", "client", "driver"):
                setattr(self, key, value)
            else:
                self.extra[key] = value

    def _merge_block(self, block: str, values: Mapping[str, Any]) -> None:
        # Attributes the template writes itself are routed to their setting to avoid duplicates.
        routed = {"options": "client_options", "meta": "meta"} if block == "client" else {}
        for key, value in values.items():
            if key in routed:
                getattr(self, routed[key]).update(value)
            elif key in ("servers", "node_class", "network_interface", "bootstrap_expect"):
                setattr(self, "client_servers" if key == "servers" else key, value)
            elif key == "enabled":
                raise ValueError(f"Use the '{block}' argument to enable or disable the {block}.")
            else:
                getattr(self, f"{block}_extra")[key] = value


def render_config(
    settings: AgentSettings, agent_ports: portlib.AgentPorts, run_dir: Path, plugin_dir: Path, plugins: dict
) -> str:
    return render(
        "agent.hcl.j2",
        {
            **{name: getattr(settings, name) for name in settings.__dataclass_fields__},
            "data_dir": str(run_dir / "data"),
            "plugin_dir": str(plugin_dir),
            "bind_addr": portlib.HOST,
            "ports": agent_ports,
            "plugins": plugins,
        },
    )


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


RESTART_MARKER = "==> NomadServer: starting agent again"


def log_tail(path: Path, lines: int | None = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return text if lines is None else _last_lines(text, lines)


def _last_lines(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def log_of_last_start(path: Path) -> str:
    """The part of an agent log written since the process was last (re)started."""
    text = log_tail(path, None)
    return text[text.rfind(RESTART_MARKER) :] if RESTART_MARKER in text else text


def check_alive(agents: Iterable[Agent]) -> None:
    """Raise :class:`AgentExitedError`, or :class:`PortConflictError` when a port race killed it."""
    for agent in agents:
        if agent.process is not None and agent.process.poll() is not None:
            log = log_of_last_start(agent.log_path)
            if portlib.is_port_conflict(log):
                raise PortConflictError(f"Nomad agent '{agent.name}' could not bind its ports:\n{_last_lines(log, 30)}")
            raise AgentExitedError(agent, log)


def wait_until_listening(agent: Agent, deadline: float) -> None:
    """Until the agent's HTTP API answers. Nomad opens it after its RPC and Serf listeners,
    so an answer also means none of the ports was lost to a race."""
    pause = 0.02
    while True:
        check_alive([agent])
        try:
            agent.client.request("GET", "/v1/agent/self", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout, NomadAPIError):
            pass
        if time.monotonic() > deadline:
            raise AgentNotReadyError(
                f"Nomad agent '{agent.name}' did not open its HTTP API at {agent.address} in time. "
                f"Last lines of {agent.log_path}:\n{log_tail(agent.log_path)}"
            )
        # The port is not open yet, so there is nothing to block on: poll, briefly.
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


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


def parse_time(value: str) -> float:
    """Seconds since the epoch of a Nomad RFC 3339 timestamp (nanoseconds are cut to micro)."""
    head, _, fraction = value.rstrip("Z").partition(".")
    stamp = datetime.fromisoformat(f"{head}.{(fraction or '0')[:6]}+00:00")
    return stamp.timestamp()


@dataclass
class NodeView:
    """What the last look at one expected client node showed."""

    name: str
    since: float
    node: dict | None = None

    def driver_info(self, driver: str) -> dict | None:
        return ((self.node or {}).get("Drivers") or {}).get(driver)

    def ready(self, driver: str) -> bool:
        info = self.driver_info(driver)
        if not self.node or self.node.get("Status") != "ready" or not info:
            return False
        # After a restart the server still shows the node as it was before; only a
        # fingerprint taken by the new process counts.
        fresh = parse_time(info.get("UpdateTime") or "1970-01-01T00:00:00Z") >= self.since
        return bool(info.get("Detected") and info.get("Healthy") and fresh)

    def describe(self, driver: str) -> str:
        if not self.node:
            return f"node '{self.name}': not registered"
        info = self.driver_info(driver)
        status = f"node '{self.name}': status {self.node.get('Status')}"
        if not info:
            return f"{status}; driver '{driver}' not fingerprinted (is its plugin in the plugin_dir?)"
        return (
            f"{status}; driver '{driver}' detected={info.get('Detected')} healthy={info.get('Healthy')}: "
            f"{info.get('HealthDescription') or '(no health description)'}"
        )


def wait_until_ready(
    api: Agent,
    watched: list[Agent],
    nodes: Mapping[str, float],
    driver: str,
    timeout: float,
    on_stuck_registration: Callable[[Agent], None] | None = None,
) -> None:
    """Wait for a leader and for every node in ``nodes`` (name → earliest valid fingerprint time).

    ``api`` is the agent whose HTTP API is asked; ``watched`` are the processes
    whose exit fails the wait at once. ``on_stuck_registration`` is called, once
    per agent, for a client whose first registration failed while the server was
    not ready: Nomad would retry only after 15 to 30 seconds.
    """
    deadline = time.monotonic() + timeout
    views = {name: NodeView(name, since) for name, since in nodes.items()}
    kicked: set[str] = set()
    current_leader, index, pause = "", 0, 0.02
    while True:
        check_alive(watched)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AgentNotReadyError(_not_ready_message(api, watched, views, driver, current_leader, timeout))
        if not current_leader:
            current_leader = leader(api.client)
            if not current_leader:
                # No blocking query exists for the first election: poll, briefly.
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, 0.25)
                continue
        if not views:
            return
        try:
            answer = api.client.blocking_get("/v1/nodes", index=index, wait=min(remaining, 2.0))
        except (requests.RequestException, NomadAPIError):
            check_alive(watched)
            current_leader, index = "", 0
            continue
        index = answer.index
        by_name = {node["Name"]: node for node in answer.data or []}
        for view in views.values():
            view.node = by_name.get(view.name)
        if all(view.ready(driver) for view in views.values()):
            return
        if on_stuck_registration:
            for agent in watched:
                if agent.name in views and agent.name not in kicked and _registration_stuck(agent, views[agent.name]):
                    kicked.add(agent.name)
                    on_stuck_registration(agent)
                    current_leader, index = "", 0


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
    return "client: error registering" in log_of_last_start(agent.log_path) and keyring_active(agent.client)


def _not_ready_message(
    api: Agent, watched: list[Agent], views: Mapping[str, NodeView], driver: str, current_leader: str, timeout: float
) -> str:
    parts = [f"Nomad was not ready within {timeout:.0f} seconds."]
    parts.append(f"Leader: {current_leader or 'none elected'} (asked {api.address}).")
    parts += [view.describe(driver) + "." for view in views.values()]
    for agent in watched:
        parts.append(f"Last 30 lines of {agent.log_path}:\n{log_tail(agent.log_path)}")
    return "\n".join(parts)


def purge_jobs(client: NomadClient, live_node_ids: set[str], timeout: float) -> list[str]:
    """Stop every registered job, wait until its allocations on live nodes are terminal, then purge it.

    Stopping first lets the driver stop and destroy its tasks the normal way
    before the agent goes (a purge alone drops the allocations from the state at
    once, leaving nothing to wait on). Allocations on dead nodes can never finish
    and are not waited for. Returns the allocations still not terminal when
    ``timeout`` ran out.
    """
    jobs = client.get("/v1/jobs", namespace="*") or []
    stopped = {(job["Namespace"], job["ID"]) for job in jobs}
    for namespace, job_id in stopped:
        _deregister(client, namespace, job_id, purge=False)
    pending: list[str] = []
    deadline, index = time.monotonic() + timeout, 0
    while stopped:
        answer = client.blocking_get(
            "/v1/allocations", index=index, wait=max(min(deadline - time.monotonic(), 5.0), 0.1), namespace="*"
        )
        index = answer.index
        pending = [
            f"{alloc['ID'][:8]} ({alloc['JobID']}/{alloc.get('TaskGroup')}: {alloc['ClientStatus']})"
            for alloc in answer.data or []
            if (alloc["Namespace"], alloc["JobID"]) in stopped
            and alloc["NodeID"] in live_node_ids
            and alloc["ClientStatus"] not in TERMINAL_CLIENT_STATUSES
        ]
        if not pending or time.monotonic() >= deadline:
            break
    for namespace, job_id in stopped:
        _deregister(client, namespace, job_id, purge=True)
    return pending


def _deregister(client: NomadClient, namespace: str, job_id: str, purge: bool) -> None:
    try:
        client.delete(f"/v1/job/{quote(job_id, safe='')}", purge=str(purge).lower(), namespace=namespace)
    except NomadAPIError as error:
        # A parameterized or periodic child may vanish with its parent.
        if error.status != 404:
            raise


def node_ids(client: NomadClient, names: Iterable[str]) -> set[str]:
    wanted = set(names)
    return {node["ID"] for node in client.get("/v1/nodes") or [] if node["Name"] in wanted}

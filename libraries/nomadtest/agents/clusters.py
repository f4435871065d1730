"""Several agents as one cluster: starting servers then clients, on loopback or with each client in a
network namespace of its own; stopping them with their network; asking about nodes and leaders.

A cluster is the agents that share a ``cluster`` name in the registry, plus its test network in
``AgentManager.networks`` when it runs isolated. Whatever goes wrong while one starts, nothing of it
is left: not an agent, a namespace or the bridge.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from robot.api import logger

from nomadtest import failures
from nomadtest.agents import configuration, readiness, sessions
from nomadtest.host import netns
from nomadtest.host import ports as portlib
from nomadtest.listener import current_owner, failing_test
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

if TYPE_CHECKING:
    from nomadtest.agents.manager import AgentManager

NETWORKS = ("isolated", "loopback")
# Servers notice a dead client within seconds instead of Nomad's 10 s TTL plus 10 s grace; and after a
# leader change, within 10 s instead of 5 minutes. Override through config={'server': {...}}.
FAST_FAILURE_DETECTION = {"heartbeat_grace": "3s", "min_heartbeat_ttl": "3s", "failover_heartbeat_ttl": "10s"}
# What cleaning up after a failed start gives each agent: it never became usable.
FAILED_START_GRACE = 1
FAILED_START_TIMEOUT = 10


@dataclass
class ClusterRequest:
    """What `Start Nomad Cluster` was asked for, as the keyword documents it."""

    servers: int = 3
    clients: int = 1
    name: str = ""
    network: str = ""
    subnet: str = netns.DEFAULT_SUBNET
    client_config: list[dict[str, Any]] | None = None
    plugin_config: dict[str, Any] | None = None
    extra_hcl: str = ""
    config: dict[str, Any] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def per_client(self) -> list[dict[str, Any]]:
        """The counts checked, and the settings of each client: those given, then empty ones."""
        if self.servers < 1 or self.clients < 0:
            raise ValueError(
                "A cluster needs at least one server and no negative count of clients, "
                f"not {self.servers}/{self.clients}."
            )
        given = list(self.client_config or [])
        if len(given) > self.clients:
            raise ValueError(f"client_config has {len(given)} entries for {self.clients} client(s).")
        return given + [{}] * (self.clients - len(given))

    def agent_names(self) -> tuple[list[str], list[str]]:
        prefix = f"{self.name}-" if self.name else ""
        return (
            [f"{prefix}server-{number}" for number in range(1, self.servers + 1)],
            [f"{prefix}client-{number}" for number in range(1, self.clients + 1)],
        )

    def every_agent(self) -> dict[str, Any]:
        """The settings every agent gets: ``config``, then the keyword's other named arguments."""
        return {**(self.config or {}), **self.overrides}


def network_mode(network: str) -> str:
    """``network`` checked, or the default: isolated when this process can create namespaces."""
    if not network:
        return "isolated" if os.geteuid() == 0 and shutil.which("ip") and shutil.which("nsenter") else "loopback"
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not '{network}'.")
    if network == "isolated":
        missing = [tool for tool in ("ip", "nsenter") if not shutil.which(tool)]
        if os.geteuid() != 0 or missing:
            why = f"{', '.join(missing)} not found" if missing else "it needs root"
            raise ValueError(f"network=isolated cannot be used: {why}. Use network=loopback.")
    return network


# -- starting -------------------------------------------------------------------------------------


def start_cluster(manager: AgentManager, request: ClusterRequest, timeout: timedelta | float) -> list[str]:
    """Start the cluster and wait until it is ready; returns the agents' names, servers first."""
    deadline = Deadline(timeout)
    network = network_mode(request.network)
    per_client = request.per_client()
    manager.prepare()
    cluster = request.name or manager.new_name("cluster")
    if cluster in manager.networks:
        raise ValueError(f"A Nomad cluster named '{cluster}' is already running; give the new one another name.")
    server_names, client_names = request.agent_names()
    for agent_name in server_names + client_names:
        manager.check_free_name(agent_name)
    start = _ClusterStart(manager, cluster, current_owner(), request, deadline)
    begun = time.monotonic()
    try:
        if network == "isolated":
            start.plan = netns.reserve(cluster, client_names, request.subnet, start.record)
        server_agents = start.servers(server_names)
        client_agents = start.clients(client_names, per_client, server_agents)
    except BaseException:
        _remove_failed(manager, cluster)
        raise
    for agent in client_agents + server_agents[::-1]:
        sessions.open_for(agent)
    REGISTRY.make_default(server_agents[0])
    plan = start.plan
    where = f"clients in network namespaces on {plan.bridge} ({plan.subnet})" if plan else "on loopback"
    logger.info(
        f"Nomad cluster '{cluster}' ({request.servers} servers, {request.clients} clients, {where}) is ready "
        f"after {time.monotonic() - begun:.1f} s."
    )
    return server_names + client_names


@dataclass
class _ClusterStart:
    """What the agents of one cluster start share: where they run, whose they are, until when."""

    manager: AgentManager
    cluster: str
    owner: str
    request: ClusterRequest
    deadline: Deadline
    plan: netns.Network | None = None

    @property
    def server_host(self) -> str:
        return self.plan.gateway if self.plan else portlib.HOST

    def record(self, reserved: netns.Network) -> None:
        """Note the network in the state file before it exists, so a sweep finds it whatever happens."""
        self.manager.networks[self.cluster] = reserved
        self.manager.save_state()

    def launch(
        self, settings: configuration.AgentSettings, specific: dict, first: portlib.AgentPorts | None = None
    ) -> Agent:
        manager, request = self.manager, self.request
        settings.extra_hcl = request.extra_hcl
        settings.apply_overrides({**request.every_agent(), **specific})
        return manager.start_with_retry(
            lambda picked: manager.launch(
                settings, picked, self.owner, self.cluster, request.plugin_config, self.deadline
            ),
            first,
        )

    def servers(self, names: list[str]) -> list[Agent]:
        """Start the servers, joined to each other, and wait for a leader and its keyring."""
        manager = self.manager
        own_ports = [manager.pick_ports() for _ in names]
        agents = []
        for agent_name, own in zip(names, own_ports, strict=True):
            join = [f"{self.server_host}:{other.serf}" for other in own_ports if other is not own]
            settings = configuration.AgentSettings(
                name=agent_name,
                client=False,
                driver=manager.driver,
                bootstrap_expect=len(names),
                server_join=join,
                host=self.server_host,
            )
            settings.server_extra.update(FAST_FAILURE_DETECTION)
            agents.append(self.launch(settings, {}, own))
        # Clients that register before the keyring exists retry only after 15-30 s: let the servers settle first.
        manager.wait_ready(agents[0], agents, {}, self.deadline)
        wait_for_keyring(agents, self.deadline)
        return agents

    def clients(self, names: list[str], per_client: list[dict[str, Any]], servers: list[Agent]) -> list[Agent]:
        """Start the clients, each in its namespace when isolated, and wait until every node is ready."""
        manager = self.manager
        rpc = [f"{self.server_host}:{agent.rpc_port}" for agent in servers]
        started = time.time()
        agents = []
        for index, (agent_name, specific) in enumerate(zip(names, per_client, strict=True)):
            settings = configuration.AgentSettings(
                name=agent_name, server=False, driver=manager.driver, client_servers=rpc
            )
            if self.plan:
                host = self.plan.hosts[index]
                netns.add_host(self.plan, host)
                settings.host, settings.netns, settings.network_interface = host.address, host.namespace, host.interface
            agents.append(self.launch(settings, specific))
        manager.wait_ready(servers[0], servers + agents, dict.fromkeys(names, started), self.deadline)
        return agents


def wait_for_keyring(servers: list[Agent], deadline: Deadline) -> None:
    def check():
        readiness.check_alive(servers)
        return Done() if readiness.keyring_active(servers[0].client) else Pending("no active key")

    if not isinstance(poll(check, deadline, interval=0.05, longest_interval=0.5), Done):
        raise readiness.AgentNotReadyError(
            f"The Nomad servers elected a leader but created no keyring within {deadline}."
        )


def _remove_failed(manager: AgentManager, cluster: str) -> None:
    # Whatever failed, nothing of the cluster may stay: agents, namespaces, bridge.
    problems = manager.stop(members(cluster), grace=FAILED_START_GRACE, timeout=FAILED_START_TIMEOUT)
    problems += manager.remove_idle_networks()
    for problem in problems:
        logger.warn(f"Cleaning up after the failed start of cluster '{cluster}': {problem}")


# -- stopping -------------------------------------------------------------------------------------


def cluster_name(name: str | None) -> str:
    """``name``, or the cluster of the agent keywords use by default."""
    if name:
        return name
    return REGISTRY.find().cluster


def members(cluster: str) -> list[Agent]:
    return [agent for agent in REGISTRY.agents() if agent.cluster == cluster]


def stop_cluster(manager: AgentManager, name: str | None, grace: timedelta | float, timeout: timedelta | float) -> None:
    """Stop every agent of the cluster and remove its network; fails on anything left."""
    cluster = cluster_name(name)
    stopping = members(cluster)
    if not stopping and cluster not in manager.networks:
        raise AssertionError(f"No Nomad cluster named '{cluster}' is running.")
    failed = failing_test()
    if failed:
        # A failed test's teardown is about to remove the evidence: take it now.
        failures.capture_failed_test(failed)
    problems = manager.stop(stopping, Deadline(grace).seconds, Deadline(timeout).seconds)
    problems += manager.remove_idle_networks()
    if problems:
        raise AssertionError("Stopping the cluster left things behind:\n" + "\n".join(problems))
    logger.info(f"Stopped Nomad cluster '{cluster}' ({len(stopping)} agents).")


def network_of(manager: AgentManager, name: str | None) -> dict[str, Any]:
    cluster = cluster_name(name)
    if cluster not in manager.networks:
        raise AssertionError(f"Nomad cluster '{cluster}' has no test network: it runs on loopback.")
    return manager.networks[cluster].as_dict()


def check_network_gone(network: dict[str, Any]) -> None:
    """Fail when a namespace, a process in one, the bridge or a veth end of ``network`` is left."""
    record = netns.Network.from_dict(network)
    namespaces, links = set(netns.namespaces()), set(netns.links())
    left = [f"network namespace {host.namespace}" for host in record.hosts if host.namespace in namespaces]
    left += [f"process {pid} in {host.namespace}" for host in record.hosts for pid in netns.members(host.namespace)]
    left += [f"link {name}" for name in [record.bridge, *(host.veth for host in record.hosts)] if name in links]
    if left:
        raise AssertionError(f"The test network {record.bridge} ({record.subnet}) left: " + ", ".join(left) + ".")
    logger.info(f"Nothing is left of test network {record.bridge} ({record.subnet}).")


# -- nodes and leaders ----------------------------------------------------------------------------


def server_of(cluster: str) -> Agent:
    for agent in members(cluster):
        if agent.is_server and agent.is_running:
            return agent
    raise AssertionError(f"No server of Nomad cluster '{cluster}' is running.")


def describe_node(node: dict) -> dict[str, Any]:
    attributes = node.get("Attributes") or {}
    return {
        "name": node.get("Name"),
        "id": node.get("ID"),
        "address": attributes.get("unique.network.ip-address", ""),
        "status": node.get("Status"),
        "eligible": node.get("SchedulingEligibility") == "eligible",
        "draining": bool(node.get("DrainStrategy")),
        "node_class": node.get("NodeClass", ""),
        "meta": node.get("Meta") or {},
    }


def cluster_nodes(name: str | None) -> list[dict[str, Any]]:
    """The cluster's client nodes as its servers see them, in start order; unregistered ones left out."""
    cluster = cluster_name(name)
    clients = [agent for agent in members(cluster) if agent.is_client]
    server = server_of(cluster)
    listed = {node["Name"]: node for node in server.client.get("/v1/nodes") or []}
    return [
        describe_node(server.client.get(f"/v1/node/{listed[agent.name]['ID']}"))
        for agent in clients
        if agent.name in listed
    ]


def leader_agent(servers: list[Agent]) -> Agent | None:
    """The server whose RPC address the running servers report as leader."""
    for agent in servers:
        if not agent.is_running:
            continue
        address = readiness.leader(agent.client)
        for candidate in servers:
            if address == f"{candidate.host}:{candidate.rpc_port}":
                return candidate
    return None


def kill_leader(manager: AgentManager, name: str | None) -> str:
    """SIGKILL the leading server; keywords then talk to a survivor. Returns the leader's name."""
    cluster = cluster_name(name)
    servers = [agent for agent in members(cluster) if agent.is_server]
    leader = leader_agent(servers)
    if leader is None:
        raise AssertionError(f"Nomad cluster '{cluster}' has no leader to kill.")
    manager.kill(leader)
    survivors = [agent for agent in servers if agent.is_running]
    if survivors:
        REGISTRY.make_default(survivors[0])
        sessions.open_for(survivors[0])
    return leader.name


def wait_for_new_leader(previous: str | None, name: str | None, timeout: timedelta | float) -> str:
    """The name of the leader every running server agrees on, once it is not ``previous``."""
    cluster = cluster_name(name)
    deadline = Deadline(timeout)
    began = time.monotonic()

    def check() -> Outcome:
        servers = [agent for agent in members(cluster) if agent.is_server and agent.is_running]
        answers = {agent.name: readiness.leader(agent.client) for agent in servers}
        leader = leader_agent(servers)
        agreed = len(set(answers.values())) == 1 and all(answers.values())
        if agreed and leader is not None and leader.name != previous:
            return Done(leader.name)
        return Pending(", ".join(f"{server} says {answer or 'no leader'}" for server, answer in answers.items()))

    outcome = poll(check, deadline, interval=0.1, longest_interval=0.5)
    if not isinstance(outcome, Done):
        raise AssertionError(f"No new leader in cluster '{cluster}' within {deadline}: {outcome.status}.")
    logger.info(f"Server '{outcome.value}' leads after {time.monotonic() - began:.2f} s of waiting.")
    return outcome.value

"""Keywords that start and stop several agents as one cluster, and ask it about its nodes and leader."""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import failures
from nomadtest.agents import configuration, readiness, sessions
from nomadtest.agents.manager import AgentManager
from nomadtest.host import netns
from nomadtest.host import ports as portlib
from nomadtest.library import ASSERTION, CRASH, LIFECYCLE, QUERY, WAIT, LibraryComponent
from nomadtest.listener import current_owner, failing_test
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

NETWORKS = ("isolated", "loopback")
# Servers notice a dead client within seconds instead of Nomad's 10 s TTL plus 10 s grace; and after a
# leader change, within 10 s instead of 5 minutes. Override through config={'server': {...}}.
FAST_FAILURE_DETECTION = {"heartbeat_grace": "3s", "min_heartbeat_ttl": "3s", "failover_heartbeat_ttl": "10s"}


class Cluster(LibraryComponent):
    """Start several servers and clients as one cluster, on loopback or with clients in network namespaces."""

    @property
    def manager(self) -> AgentManager:
        return self.library.manager

    @keyword(tags=[LIFECYCLE])
    def start_nomad_cluster(
        self,
        servers: int = 3,
        clients: int = 1,
        name: str = "",
        network: str = "",
        subnet: str = netns.DEFAULT_SUBNET,
        client_config: list[dict[str, Any]] | None = None,
        timeout: timedelta = timedelta(seconds=120),
        plugin_config: dict[str, Any] | None = None,
        extra_hcl: str = "",
        config: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> list[str]:
        """Starts ``servers`` server agents and ``clients`` client agents as one cluster and waits until it is ready.

        The servers expect each other (``bootstrap_expect``) and join through their Serf
        addresses; the clients know the servers' RPC addresses. Agents are named
        ``server-1``... and ``client-1``..., prefixed by ``name-`` when ``name`` is given
        (needed to run two clusters in one process). Ready means a leader is elected and every
        client node is ``ready`` with a healthy driver.

        ``network`` says where the agents live:
        - ``isolated`` (the default when running as root): each client agent runs in a network
          namespace of its own, a test host with its own address, joined by a veth pair to a
          bridge created for this cluster; the servers bind the bridge's address on this host.
          Addresses come from a free slice of ``subnet`` (default ``198.18.0.0/24``, the range
          reserved for network tests); there is no default route and no NAT, so nothing leaves
          the cluster's own hosts. `Partition Nomad Node` needs it.
        - ``loopback`` (the default otherwise): every agent on 127.0.0.1, as `Start Nomad Server`.

        ``client_config`` gives settings per client, in order, e.g.
        ``${{ [{'node_class': 'big'}, {}, {'meta': {'rack': 'r2'}}] }}``; ``config`` and
        ``**overrides`` apply to every agent, as in `Start Nomad Server`. The servers mark a
        client ``down`` a few seconds after its last heartbeat (``heartbeat_grace`` and
        ``min_heartbeat_ttl`` of 3 s instead of Nomad's 10 s): override them with
        ``config=${{ {'server': {'heartbeat_grace': '10s'}} }}``.

        Keywords that name no agent then talk to ``server-1``. `Stop Nomad Cluster` stops it all;
        the owner's end does so too, network included.

        Returns the names, servers first.

        Example:
        | ${names} = | `Start Nomad Cluster` | servers=3 | clients=3 | |
        | `Start Nomad Cluster` | servers=1 | clients=2 | network=loopback | name=small |
        | `Start Nomad Cluster` | clients=2 | client_config=${{ [{'node_class': 'gpu'}, {}] }} | | |
        """
        deadline = Deadline(timeout)
        network = _network_mode(network)
        if servers < 1 or clients < 0:
            raise ValueError(
                f"A cluster needs at least one server and no negative count of clients, not {servers}/{clients}."
            )
        per_client = list(client_config or [])
        if len(per_client) > clients:
            raise ValueError(f"client_config has {len(per_client)} entries for {clients} client(s).")
        per_client += [{}] * (clients - len(per_client))
        manager = self.manager
        manager.prepare()
        prefix = f"{name}-" if name else ""
        cluster = name or manager.new_name("cluster")
        if cluster in manager.networks:
            raise ValueError(f"A Nomad cluster named '{cluster}' is already running; give the new one another name.")
        server_names = [f"{prefix}server-{number}" for number in range(1, servers + 1)]
        client_names = [f"{prefix}client-{number}" for number in range(1, clients + 1)]
        for agent_name in server_names + client_names:
            manager.check_free_name(agent_name)
        owner = current_owner()
        overrides = {**(config or {}), **overrides}
        begun = time.monotonic()
        plan = None
        try:
            if network == "isolated":
                plan = netns.reserve(cluster, client_names, subnet, lambda reserved: self._record(cluster, reserved))
            server_agents, client_agents = self._start(
                cluster,
                owner,
                plan,
                server_names,
                client_names,
                per_client,
                overrides,
                plugin_config,
                extra_hcl,
                deadline,
            )
        except BaseException:
            # Whatever failed, nothing of the cluster may stay: agents, namespaces, bridge.
            members = [agent for agent in REGISTRY.agents() if agent.cluster == cluster]
            problems = manager.stop(members, grace=1, timeout=10)
            problems += manager.remove_idle_networks()
            for problem in problems:
                logger.warn(f"Cleaning up after the failed start of cluster '{cluster}': {problem}")
            raise
        for agent in client_agents + server_agents[::-1]:
            sessions.open_for(agent)
        REGISTRY.make_default(server_agents[0])
        where = f"clients in network namespaces on {plan.bridge} ({plan.subnet})" if plan else "on loopback"
        logger.info(
            f"Nomad cluster '{cluster}' ({servers} servers, {clients} clients, {where}) is ready "
            f"after {time.monotonic() - begun:.1f} s."
        )
        return server_names + client_names

    def _record(self, cluster: str, reserved: netns.Network) -> None:
        self.manager.networks[cluster] = reserved
        self.manager.save_state()

    def _start(
        self,
        cluster: str,
        owner: str,
        plan: netns.Network | None,
        server_names: list[str],
        client_names: list[str],
        per_client: list[dict[str, Any]],
        overrides: dict[str, Any],
        plugin_config: dict[str, Any] | None,
        extra_hcl: str,
        deadline: Deadline,
    ) -> tuple[list[Agent], list[Agent]]:
        manager = self.manager
        server_host = plan.gateway if plan else portlib.HOST

        def launch(
            settings: configuration.AgentSettings, specific: dict, first: portlib.AgentPorts | None = None
        ) -> Agent:
            settings.extra_hcl = extra_hcl
            settings.apply_overrides({**overrides, **specific})
            return manager.start_with_retry(
                lambda picked: manager.launch(settings, picked, owner, cluster, plugin_config, deadline), first
            )

        server_ports = [manager.pick_ports() for _ in server_names]
        server_agents = []
        for agent_name, own in zip(server_names, server_ports, strict=True):
            join = [f"{server_host}:{other.serf}" for other in server_ports if other is not own]
            settings = configuration.AgentSettings(
                name=agent_name,
                client=False,
                driver=manager.driver,
                bootstrap_expect=len(server_names),
                server_join=join,
                host=server_host,
            )
            settings.server_extra.update(FAST_FAILURE_DETECTION)
            server_agents.append(launch(settings, {}, own))
        # Clients that register before the keyring exists retry only after 15-30 s: let the servers settle first.
        manager.wait_ready(server_agents[0], server_agents, {}, deadline)
        _wait_for_keyring(server_agents, deadline)
        rpc = [f"{server_host}:{agent.rpc_port}" for agent in server_agents]
        started = time.time()
        client_agents = []
        for index, (agent_name, specific) in enumerate(zip(client_names, per_client, strict=True)):
            settings = configuration.AgentSettings(
                name=agent_name, server=False, driver=manager.driver, client_servers=rpc
            )
            if plan:
                host = plan.hosts[index]
                netns.add_host(plan, host)
                settings.host, settings.netns, settings.network_interface = host.address, host.namespace, host.interface
            client_agents.append(launch(settings, specific))
        since = dict.fromkeys(client_names, started)
        manager.wait_ready(server_agents[0], server_agents + client_agents, since, deadline)
        return server_agents, client_agents

    @keyword(tags=[LIFECYCLE])
    def stop_nomad_cluster(
        self,
        name: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        """Stops every agent of the cluster as `Stop Nomad Server` does, then removes its network namespaces,
        veth pairs and bridge. Fails on anything left.

        ``name`` is the cluster's name as given to `Start Nomad Cluster` (default: the cluster of
        the agent keywords use by default).

        Example:
        | `Stop Nomad Cluster` | |
        | `Stop Nomad Cluster` | small |
        """
        cluster = self.cluster_name(name)
        members = [agent for agent in REGISTRY.agents() if agent.cluster == cluster]
        if not members and cluster not in self.manager.networks:
            raise AssertionError(f"No Nomad cluster named '{cluster}' is running.")
        failed = failing_test()
        if failed:
            # A failed test's teardown is about to remove the evidence: take it now.
            failures.capture_failed_test(failed)
        problems = self.manager.stop(members, Deadline(grace).seconds, Deadline(timeout).seconds)
        problems += self.manager.remove_idle_networks()
        if problems:
            raise AssertionError("Stopping the cluster left things behind:\n" + "\n".join(problems))
        logger.info(f"Stopped Nomad cluster '{cluster}' ({len(members)} agents).")

    def cluster_name(self, name: str | None) -> str:
        if name:
            return name
        return REGISTRY.find().cluster

    @keyword(tags=[QUERY])
    def get_cluster_nodes(self, name: str | None = None) -> list[dict[str, Any]]:
        """Returns the client nodes of the cluster as the servers see them, in start order.

        Each is a dictionary with ``name`` (the agent's name, which keywords take as ``node``),
        ``id``, ``address`` (the node's IP address), ``status`` (``ready``, ``down``,
        ``disconnected``...), ``eligible`` (bool), ``draining`` (bool), ``node_class`` and ``meta``.

        Example:
        | ${nodes} = | `Get Cluster Nodes` | |
        | Should Be Equal | ${nodes}[0][status] | ready |
        """
        cluster = self.cluster_name(name)
        members = [agent for agent in REGISTRY.agents() if agent.cluster == cluster and agent.is_client]
        server = self.server_of(cluster)
        listed = {node["Name"]: node for node in server.client.get("/v1/nodes") or []}
        found = []
        for agent in members:
            node = listed.get(agent.name)
            if node is None:
                continue
            full = server.client.get(f"/v1/node/{node['ID']}")
            found.append(describe_node(full))
        return found

    def server_of(self, cluster: str) -> Agent:
        for agent in REGISTRY.agents():
            if agent.cluster == cluster and agent.is_server and agent.is_running:
                return agent
        raise AssertionError(f"No server of Nomad cluster '{cluster}' is running.")

    @keyword(tags=[CRASH])
    def kill_nomad_leader(self, name: str | None = None) -> str:
        """Kills the cluster's leading server with SIGKILL and returns its name.

        Keywords that name no agent then talk to a surviving server. Use `Wait For New Leader`
        next, and `Restart Nomad Agent` to bring the server back.

        Example:
        | ${old} = | `Kill Nomad Leader` | |
        | ${new} = | `Wait For New Leader` | ${old} |
        """
        cluster = self.cluster_name(name)
        servers = [agent for agent in REGISTRY.agents() if agent.cluster == cluster and agent.is_server]
        leader = _leader_agent(servers)
        if leader is None:
            raise AssertionError(f"Nomad cluster '{cluster}' has no leader to kill.")
        self.manager.kill(leader)
        survivors = [agent for agent in servers if agent.is_running]
        if survivors:
            REGISTRY.make_default(survivors[0])
            sessions.open_for(survivors[0])
        return leader.name

    @keyword(tags=[WAIT])
    def wait_for_new_leader(
        self, previous: str | None = None, name: str | None = None, timeout: timedelta = timedelta(seconds=30)
    ) -> str:
        """Waits until every running server of the cluster names the same leader, other than ``previous``; returns it.

        Raft needs a majority: of 3 servers, 2 must be running. Fails after ``timeout`` with
        what each server answered.

        Example:
        | ${new} = | `Wait For New Leader` | server-1 | timeout=20s |
        """
        cluster = self.cluster_name(name)
        deadline = Deadline(timeout)
        began = time.monotonic()

        def check() -> Outcome:
            servers = [a for a in REGISTRY.agents() if a.cluster == cluster and a.is_server and a.is_running]
            answers = {agent.name: readiness.leader(agent.client) for agent in servers}
            leader = _leader_agent(servers)
            agreed = len(set(answers.values())) == 1 and all(answers.values())
            if agreed and leader is not None and leader.name != previous:
                return Done(leader.name)
            return Pending(", ".join(f"{server} says {answer or 'no leader'}" for server, answer in answers.items()))

        outcome = poll(check, deadline, interval=0.1, longest_interval=0.5)
        if not isinstance(outcome, Done):
            raise AssertionError(f"No new leader in cluster '{cluster}' within {deadline}: {outcome.status}.")
        logger.info(f"Server '{outcome.value}' leads after {time.monotonic() - began:.2f} s of waiting.")
        return outcome.value

    @keyword(tags=[QUERY])
    def get_nomad_cluster_network(self, name: str | None = None) -> dict[str, Any]:
        """Returns the test network of a cluster started with ``network=isolated``: ``bridge``, ``subnet``,
        ``gateway`` (the servers' address) and ``hosts``, each with ``namespace``, ``veth`` and ``address``.

        Example:
        | ${network} = | `Get Nomad Cluster Network` | |
        | `Stop Nomad Cluster` | | |
        | `Nomad Cluster Network Should Be Gone` | ${network} |
        """
        cluster = self.cluster_name(name)
        if cluster not in self.manager.networks:
            raise AssertionError(f"Nomad cluster '{cluster}' has no test network: it runs on loopback.")
        return self.manager.networks[cluster].as_dict()

    @keyword(tags=[ASSERTION])
    def nomad_cluster_network_should_be_gone(self, network: dict[str, Any]) -> None:
        """Fails when anything of a cluster's test network (from `Get Nomad Cluster Network`) is left:
        a network namespace, a process in one, the bridge or a veth end.

        Example:
        | `Nomad Cluster Network Should Be Gone` | ${network} |
        """
        record = netns.Network.from_dict(network)
        namespaces, links = set(netns.namespaces()), set(netns.links())
        left = [f"network namespace {host.namespace}" for host in record.hosts if host.namespace in namespaces]
        left += [f"process {pid} in {host.namespace}" for host in record.hosts for pid in netns.members(host.namespace)]
        left += [f"link {name}" for name in [record.bridge, *(host.veth for host in record.hosts)] if name in links]
        if left:
            raise AssertionError(f"The test network {record.bridge} ({record.subnet}) left: " + ", ".join(left) + ".")
        logger.info(f"Nothing is left of test network {record.bridge} ({record.subnet}).")


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


def _leader_agent(servers: list[Agent]) -> Agent | None:
    """The server whose RPC address the running servers report as leader."""
    for agent in servers:
        if not agent.is_running:
            continue
        address = readiness.leader(agent.client)
        for candidate in servers:
            if address == f"{candidate.host}:{candidate.rpc_port}":
                return candidate
    return None


def _network_mode(network: str) -> str:
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


def _wait_for_keyring(servers: list[Agent], deadline: Deadline) -> None:
    def check():
        readiness.check_alive(servers)
        return Done() if readiness.keyring_active(servers[0].client) else Pending("no active key")

    if not isinstance(poll(check, deadline, interval=0.05, longest_interval=0.5), Done):
        raise readiness.AgentNotReadyError(
            f"The Nomad servers elected a leader but created no keyring within {deadline}."
        )

"""Keywords that start several agents as one cluster."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import agents as agentlib
from nomadtest import ports as portlib
from nomadtest import sessions
from nomadtest.library import LIFECYCLE, LibraryComponent
from nomadtest.listener import current_owner
from nomadtest.registry import Agent
from nomadtest.waiting import Deadline, Done, Pending, poll


class Cluster(LibraryComponent):
    """Start several servers and clients as one cluster."""

    @keyword(tags=[LIFECYCLE])
    def start_nomad_cluster(
        self,
        servers: int = 3,
        clients: int = 1,
        name: str = "",
        timeout: timedelta = timedelta(seconds=120),
        plugin_config: dict[str, Any] | None = None,
        extra_hcl: str = "",
        config: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> list[str]:
        """Starts ``servers`` server agents and ``clients`` client agents as one cluster and waits until it is ready.

        The servers expect each other (``bootstrap_expect``) and join through their
        Serf addresses; the clients know the servers' RPC addresses. Agents are named
        ``server-1``... and ``client-1``..., prefixed by ``name-`` when ``name`` is given
        (needed to run two clusters at once). Ready means a leader is elected and every
        client node is ``ready`` with a healthy driver. Other arguments are as in
        `Start Nomad Server` and apply to every agent.

        Returns the names, servers first.

        Example:
        | ${names} = | `Start Nomad Cluster` | servers=3 | clients=2 |
        | `Stop Nomad Server` | client-2 | | |
        """
        deadline = Deadline(timeout)
        manager = self.library.manager
        manager.prepare()
        prefix = f"{name}-" if name else ""
        cluster = name or manager.new_name("cluster")
        server_names = [f"{prefix}server-{number}" for number in range(1, servers + 1)]
        client_names = [f"{prefix}client-{number}" for number in range(1, clients + 1)]
        for agent_name in server_names + client_names:
            manager.check_free_name(agent_name)
        owner = current_owner()
        overrides = {**(config or {}), **overrides}

        def launch(settings: agentlib.AgentSettings, first: portlib.AgentPorts | None = None) -> Agent:
            settings.extra_hcl = extra_hcl
            settings.apply_overrides(overrides)
            return manager.start_with_retry(
                lambda picked: manager.launch(settings, picked, owner, cluster, plugin_config, deadline), first
            )

        server_ports = [manager.pick_ports() for _ in server_names]
        server_agents = []
        for agent_name, own in zip(server_names, server_ports, strict=True):
            join = [f"127.0.0.1:{other.serf}" for other in server_ports if other is not own]
            settings = agentlib.AgentSettings(
                name=agent_name, client=False, driver=manager.driver, bootstrap_expect=servers, server_join=join
            )
            server_agents.append(launch(settings, own))
        # Clients that register before the keyring exists retry only after 15-30 s: let the servers settle first.
        manager.wait_ready(server_agents[0], server_agents, {}, deadline)
        _wait_for_keyring(server_agents, deadline)
        rpc = [f"127.0.0.1:{agent.rpc_port}" for agent in server_agents]
        started = time.time()
        client_agents = [
            launch(agentlib.AgentSettings(name=agent_name, server=False, driver=manager.driver, client_servers=rpc))
            for agent_name in client_names
        ]
        since = dict.fromkeys(client_names, started)
        manager.wait_ready(server_agents[0], server_agents + client_agents, since, deadline)
        for agent in server_agents + client_agents:
            sessions.open_for(agent)
        logger.info(f"Nomad cluster '{cluster}' ({servers} servers, {clients} clients) is ready.")
        return server_names + client_names


def _wait_for_keyring(servers: list[Agent], deadline: Deadline) -> None:
    def check():
        agentlib.check_alive(servers)
        return Done() if agentlib.keyring_active(servers[0].client) else Pending("no active key")

    if not isinstance(poll(check, deadline, interval=0.05, longest_interval=0.5), Done):
        raise agentlib.AgentNotReadyError(
            f"The Nomad servers elected a leader but created no keyring within {deadline}."
        )

"""Keywords that start and stop several agents as one cluster, and ask it about its nodes and leader."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api.deco import keyword

from nomadtest.agents import clusters
from nomadtest.agents.manager import AgentManager
from nomadtest.host import netns
from nomadtest.library import ASSERTION, CRASH, LIFECYCLE, QUERY, WAIT, LibraryComponent
from nomadtest.waiting import resolve


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
        timeout: timedelta | None = None,
        plugin_config: dict[str, Any] | None = None,
        extra_hcl: str = "",
        config: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> list[str]:
        """Starts ``servers`` server agents and ``clients`` client agents as one cluster and waits until it is ready.

        ``timeout`` defaults to twice the Nomad timeout (see `Set Nomad Timeout`).

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
        timeout = resolve(timeout, 2)
        request = clusters.ClusterRequest(
            servers=servers,
            clients=clients,
            name=name,
            network=network,
            subnet=subnet,
            client_config=client_config,
            plugin_config=plugin_config,
            extra_hcl=extra_hcl,
            config=config,
            overrides=overrides,
        )
        return clusters.start_cluster(self.manager, request, timeout)

    @keyword(tags=[LIFECYCLE])
    def stop_nomad_cluster(
        self,
        name: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta | None = None,
    ) -> None:
        """Stops every agent of the cluster as `Stop Nomad Server` does, then removes its network namespaces,
        veth pairs and bridge. Fails on anything left.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        ``name`` is the cluster's name as given to `Start Nomad Cluster` (default: the cluster of
        the agent keywords use by default).

        Example:
        | `Stop Nomad Cluster` | |
        | `Stop Nomad Cluster` | small |
        """
        timeout = resolve(timeout, 0.5)
        clusters.stop_cluster(self.manager, name, grace, timeout)

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
        return clusters.cluster_nodes(name)

    @keyword(tags=[CRASH])
    def kill_nomad_leader(self, name: str | None = None) -> str:
        """Kills the cluster's leading server with SIGKILL and returns its name.

        Keywords that name no agent then talk to a surviving server. Use `Wait For New Leader`
        next, and `Restart Nomad Agent` to bring the server back.

        Example:
        | ${old} = | `Kill Nomad Leader` | |
        | ${new} = | `Wait For New Leader` | ${old} |
        """
        return clusters.kill_leader(self.manager, name)

    @keyword(tags=[WAIT])
    def wait_for_new_leader(
        self, previous: str | None = None, name: str | None = None, timeout: timedelta | None = None
    ) -> str:
        """Waits until every running server of the cluster names the same leader, other than ``previous``; returns it.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        Raft needs a majority: of 3 servers, 2 must be running. Fails after ``timeout`` with
        what each server answered.

        Example:
        | ${new} = | `Wait For New Leader` | server-1 | timeout=20s |
        """
        timeout = resolve(timeout, 0.5)
        return clusters.wait_for_new_leader(previous, name, timeout)

    @keyword(tags=[QUERY])
    def get_nomad_cluster_network(self, name: str | None = None) -> dict[str, Any]:
        """Returns the test network of a cluster started with ``network=isolated``: ``bridge``, ``subnet``,
        ``gateway`` (the servers' address) and ``hosts``, each with ``namespace``, ``veth`` and ``address``.

        Example:
        | ${network} = | `Get Nomad Cluster Network` | |
        | `Stop Nomad Cluster` | | |
        | `Nomad Cluster Network Should Be Gone` | ${network} |
        """
        return clusters.network_of(self.manager, name)

    @keyword(tags=[ASSERTION])
    def nomad_cluster_network_should_be_gone(self, network: dict[str, Any]) -> None:
        """Fails when anything of a cluster's test network (from `Get Nomad Cluster Network`) is left:
        a network namespace, a process in one, the bridge or a veth end.

        Example:
        | `Nomad Cluster Network Should Be Gone` | ${network} |
        """
        clusters.check_network_gone(network)

"""Keywords that act on the client nodes of a cluster: kill, partition, drain, and check where allocations run."""

from __future__ import annotations

from datetime import timedelta

from robot.api.deco import keyword

from nomadtest.agents import nodefaults
from nomadtest.agents.manager import AgentManager
from nomadtest.jobs import lookup, placement
from nomadtest.library import ASSERTION, CRASH, LIFECYCLE, QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import resolve


class NodeFaults(LibraryComponent):
    """Kill, cut off, drain and watch the client nodes of a cluster; see where its allocations run."""

    @property
    def manager(self) -> AgentManager:
        return self.library.manager

    @keyword(tags=[CRASH])
    def kill_nomad_client(self, node: str) -> None:
        """Kills the client agent of ``node`` with SIGKILL, as when its host dies; its tasks keep running.

        The servers see its heartbeats stop and mark the node ``down`` (see `Start Nomad
        Cluster` for how fast); its allocations become ``lost`` and are replaced elsewhere.
        `Restart Nomad Client` or `Restart Nomad Agent` brings it back.

        Example:
        | `Kill Nomad Client` | client-2 | |
        | `Wait For Node Status` | client-2 | down |
        """
        nodefaults.kill_client(self.manager, node)

    @keyword(tags=[CRASH])
    def partition_nomad_node(self, node: str) -> None:
        """Cuts ``node`` off the network: the host end of its veth pair goes down, as a pulled cable.

        The agent and its tasks keep running and keep their addresses, but reach nobody and
        nobody reaches them. Needs a cluster started with ``network=isolated``. Undo it with
        `Heal Nomad Node`.

        Example:
        | `Partition Nomad Node` | client-1 | |
        | `Wait For Node Status` | client-1 | disconnected |
        """
        nodefaults.partition(self.manager, node)

    @keyword(tags=[LIFECYCLE])
    def heal_nomad_node(self, node: str) -> None:
        """Connects a node cut off by `Partition Nomad Node` again; does nothing to a node not cut off.

        Example:
        | `Heal Nomad Node` | client-1 | |
        | `Wait For Node Status` | client-1 | ready |
        """
        nodefaults.heal(self.manager, node)

    @keyword(tags=[WAIT])
    def wait_for_node_status(self, node: str, status: str, timeout: timedelta | None = None) -> float:
        """Waits until the servers report ``node`` in ``status``; returns the seconds since the node's last
        disruption (kill, partition or heal), or since the call when it had none.

        ``status`` is ``ready``, ``down``, ``disconnected`` or ``initializing``. The wait blocks
        on the node's record; a timeout tells the status last seen.

        Example:
        | `Wait For Node Status` | client-1 | down | timeout=30s |
        | ${seconds} = | `Wait For Node Status` | client-1 | ready |
        """
        timeout = resolve(timeout)
        return nodefaults.wait_for_status(self.manager, node, status, timeout)

    @keyword(tags=[LIFECYCLE, WAIT])
    def drain_nomad_node(
        self,
        node: str,
        deadline: timedelta = timedelta(seconds=30),
        timeout: timedelta | None = None,
    ) -> None:
        """Drains ``node`` and waits until the drain is complete and no allocation runs on it any more.

        ``timeout`` defaults to twice the Nomad timeout (see `Set Nomad Timeout`).

        Nomad marks the node ineligible, places each allocation's replacement elsewhere (as the
        job's ``migrate`` block says) and stops the original; ``deadline`` is Nomad's drain
        deadline, after which what is left is stopped anyway. The node stays ineligible: use
        `Set Nomad Node Eligibility` to let it take work again.

        Example:
        | `Drain Nomad Node` | client-3 |
        """
        timeout = resolve(timeout, 2)
        nodefaults.drain(self.manager, node, deadline, timeout)

    @keyword(tags=[LIFECYCLE])
    def set_nomad_node_eligibility(self, node: str, eligible: bool = True) -> None:
        """Makes ``node`` eligible (or not) for new allocations, e.g. after `Drain Nomad Node`.

        Example:
        | `Set Nomad Node Eligibility` | client-3 | |
        """
        nodefaults.set_eligibility(self.manager, node, eligible)

    @keyword(tags=[QUERY])
    def get_node_of_allocation(self, job_id: str, alloc_id: str | None = None, agent: str | None = None) -> str:
        """Returns the name of the node the allocation (given, or the job's latest) was placed on.

        Example:
        | ${node} = | `Get Node Of Allocation` | ${job} |
        | `Kill Nomad Client` | ${node} |
        """
        return lookup.select_allocation(REGISTRY.client(agent), job_id, alloc_id)["NodeName"]

    @keyword(tags=[ASSERTION])
    def jobs_should_be_spread_across_nodes(
        self, *job_ids: str, nodes: list[str] | None = None, per_node: int | None = None, agent: str | None = None
    ) -> None:
        """Fails unless the running allocations of the jobs are spread over ``nodes``: ``per_node`` on each
        when given, otherwise evenly (counts differ by at most one, every node has one when there are
        enough). ``nodes`` defaults to the ready nodes of the cluster; allocations elsewhere fail too.

        Example:
        | `Jobs Should Be Spread Across Nodes` | ${job} | per_node=2 | |
        | `Jobs Should Be Spread Across Nodes` | ${a} | ${b} | nodes=${{ ['client-1', 'client-2'] }} |
        """
        placement.check_spread(REGISTRY.client(agent), job_ids, nodes, per_node)

    @keyword(tags=[WAIT])
    def wait_for_allocation_to_be_unknown(
        self, job_id: str, alloc_id: str, timeout: timedelta | None = None, agent: str | None = None
    ) -> None:
        """Waits until the allocation's client status is ``unknown``: its node is disconnected and the job's
        ``disconnect`` block keeps it instead of calling it lost.

        Example:
        | `Wait For Allocation To Be Unknown` | ${job} | ${alloc} |
        """
        timeout = resolve(timeout)
        placement.wait_until_unknown(REGISTRY.client(agent), job_id, alloc_id, timeout)

    @keyword(tags=[WAIT])
    def wait_for_replacement_allocation(
        self, job_id: str, alloc_id: str, timeout: timedelta | None = None, agent: str | None = None
    ) -> str:
        """Waits until another allocation of the job than ``alloc_id`` runs, on another node; returns its id.

        Nomad places a replacement when the node of ``alloc_id`` goes down (the allocation is lost)
        or is disconnected (the allocation is unknown). Logs the seconds since that node's last
        disruption (`Kill Nomad Client`, `Partition Nomad Node`).

        Example:
        | ${new} = | `Wait For Replacement Allocation` | ${job} | ${alloc}[ID] |
        """
        timeout = resolve(timeout)
        return placement.wait_for_replacement(REGISTRY.client(agent), job_id, alloc_id, timeout)

    @keyword(tags=[WAIT])
    def wait_for_job_to_reconcile(
        self, job_id: str, running: int = 1, timeout: timedelta | None = None, agent: str | None = None
    ) -> list[str]:
        """Waits until the job has exactly ``running`` running allocations and every other one is stopped
        (none pending or ``unknown``); returns the ids of the running ones.

        After a disconnected node comes back, Nomad keeps one of the original and its replacement
        (the ``disconnect`` block's ``reconcile``) and stops the other.

        Example:
        | ${kept} = | `Wait For Job To Reconcile` | ${job} | running=1 |
        """
        timeout = resolve(timeout)
        return placement.wait_until_reconciled(REGISTRY.client(agent), job_id, running, timeout)

    @keyword(tags=[WAIT])
    def wait_for_nomad_service(
        self, service: str, timeout: timedelta | None = None, agent: str | None = None
    ) -> list[dict]:
        """Waits until a Nomad native service (``provider = "nomad"``) has a registration; returns them.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        Each is Nomad's registration with ``Address``, ``Port``, ``NodeID``, ``AllocID``...

        Example:
        | ${instances} = | `Wait For Nomad Service` | echo |
        """
        timeout = resolve(timeout, 0.5)
        return placement.wait_for_service(REGISTRY.client(agent), service, timeout)

"""Keywords that act on the client nodes of a cluster: kill, partition, drain, and check where allocations run."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.agents import nodes
from nomadtest.agents.manager import AgentManager
from nomadtest.api.client import api_path
from nomadtest.host import netns
from nomadtest.jobs import lookup, waits
from nomadtest.library import ASSERTION, CRASH, LIFECYCLE, QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, Done, Impossible, Outcome, Pending

NODE_STATUSES = ("initializing", "ready", "down", "disconnected")
NANOSECONDS = 1_000_000_000


class NodeFaults(LibraryComponent):
    """Kill, cut off, drain and watch the client nodes of a cluster; see where its allocations run."""

    @property
    def manager(self) -> AgentManager:
        return self.library.manager

    def _client_agent(self, node: str) -> Agent:
        agent = REGISTRY.find(node)
        if not agent.is_client:
            raise AssertionError(f"Nomad agent '{agent.name}' runs no client, so it is no node.")
        return agent

    def _server(self, agent: Agent) -> Agent:
        server = self.manager.cluster_server(agent)
        if server is None:
            raise AssertionError(f"No server of the cluster of '{agent.name}' is running to ask about it.")
        return server

    def _host(self, agent: Agent) -> netns.Host:
        network = self.manager.networks.get(agent.cluster)
        if not agent.netns or network is None:
            raise AssertionError(
                f"Nomad node '{agent.name}' runs on this host's loopback, so it cannot be cut off: "
                "start the cluster with network=isolated."
            )
        return network.host(agent.netns)

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
        agent = self._client_agent(node)
        if agent.is_server:
            raise AssertionError(f"Nomad agent '{agent.name}' is also a server: use 'Kill Nomad Agent'.")
        if not agent.is_running:
            raise AssertionError(f"Nomad client '{agent.name}' is not running.")
        self.manager.kill(agent)

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
        agent = self._client_agent(node)
        host = self._host(agent)
        agent.record_disruption("network partition", agent.pid)
        netns.set_connected(host, False)
        logger.info(f"Cut Nomad node '{agent.name}' ({host.address}, namespace {host.namespace}) off the network.")

    @keyword(tags=[LIFECYCLE])
    def heal_nomad_node(self, node: str) -> None:
        """Connects a node cut off by `Partition Nomad Node` again; does nothing to a node not cut off.

        Example:
        | `Heal Nomad Node` | client-1 | |
        | `Wait For Node Status` | client-1 | ready |
        """
        agent = self._client_agent(node)
        host = self._host(agent)
        if netns.is_connected(host):
            logger.info(f"Nomad node '{agent.name}' is not cut off.")
            return
        netns.set_connected(host, True)
        disruption = agent.last_disruption
        if disruption is not None and disruption.what == "network partition":
            disruption.restarted_at = time.time()
        logger.info(f"Connected Nomad node '{agent.name}' ({host.address}) again.")

    @keyword(tags=[WAIT])
    def wait_for_node_status(self, node: str, status: str, timeout: timedelta = timedelta(minutes=1)) -> float:
        """Waits until the servers report ``node`` in ``status``; returns the seconds since the node's last
        disruption (kill, partition or heal), or since the call when it had none.

        ``status`` is ``ready``, ``down``, ``disconnected`` or ``initializing``. The wait blocks
        on the node's record; a timeout tells the status last seen.

        Example:
        | `Wait For Node Status` | client-1 | down | timeout=30s |
        | ${seconds} = | `Wait For Node Status` | client-1 | ready |
        """
        waits.check_choice(status, NODE_STATUSES, "Node status")
        agent = self._client_agent(node)
        deadline = Deadline(timeout)
        began = time.time()
        server = self._server(agent)
        node_id = nodes.node_id(server.client, agent.name)

        def check(data: Any) -> Outcome:
            current = (data or {}).get("Status")
            return Done() if current == status else Pending(f"status {current}")

        outcome = waits.watch(server.client, api_path("node", node_id), check, deadline)
        if not isinstance(outcome, Done):
            raise AssertionError(
                f"Nomad node '{agent.name}' was not {status} within {deadline}; last seen: {outcome.status}."
            )
        disruption = agent.last_disruption
        reference, what = began, "the wait began"
        if disruption is not None:
            reference = disruption.restarted_at if status == "ready" and disruption.restarted_at else disruption.at
            what = f"its {disruption.what}" + (" ended" if reference == disruption.restarted_at else "")
        seconds = time.time() - reference
        logger.info(f"Nomad node '{agent.name}' is {status} {seconds:.2f} s after {what}.")
        return seconds

    @keyword(tags=[LIFECYCLE, WAIT])
    def drain_nomad_node(
        self,
        node: str,
        deadline: timedelta = timedelta(seconds=30),
        timeout: timedelta = timedelta(minutes=2),
    ) -> None:
        """Drains ``node`` and waits until the drain is complete and no allocation runs on it any more.

        Nomad marks the node ineligible, places each allocation's replacement elsewhere (as the
        job's ``migrate`` block says) and stops the original; ``deadline`` is Nomad's drain
        deadline, after which what is left is stopped anyway. The node stays ineligible: use
        `Set Nomad Node Eligibility` to let it take work again.

        Example:
        | `Drain Nomad Node` | client-3 |
        """
        agent = self._client_agent(node)
        wait = Deadline(timeout)
        server = self._server(agent)
        node_id = nodes.node_id(server.client, agent.name)
        spec = {"Deadline": int(Deadline(deadline).seconds * NANOSECONDS), "IgnoreSystemJobs": False}
        began = time.monotonic()
        server.client.put(api_path("node", node_id, "drain"), {"NodeID": node_id, "DrainSpec": spec})

        def check(data: Any) -> Outcome:
            left = [
                a
                for a in server.client.get(api_path("node", node_id, "allocations")) or []
                if not lookup.is_terminal(a)
            ]
            if (data or {}).get("DrainStrategy") is None and not left:
                return Done()
            running = ", ".join(f"{a['JobID']}/{lookup.short(a['ID'])} {a['ClientStatus']}" for a in left) or "none"
            state = "under way" if (data or {}).get("DrainStrategy") else "complete"
            return Pending(f"drain {state}; allocations left: {running}")

        outcome = waits.watch(server.client, api_path("node", node_id), check, wait, longest=1.0)
        if not isinstance(outcome, Done):
            raise AssertionError(f"Draining Nomad node '{agent.name}' did not finish within {wait}: {outcome.status}.")
        logger.info(f"Drained Nomad node '{agent.name}' in {time.monotonic() - began:.1f} s.")

    @keyword(tags=[LIFECYCLE])
    def set_nomad_node_eligibility(self, node: str, eligible: bool = True) -> None:
        """Makes ``node`` eligible (or not) for new allocations, e.g. after `Drain Nomad Node`.

        Example:
        | `Set Nomad Node Eligibility` | client-3 | |
        """
        agent = self._client_agent(node)
        server = self._server(agent)
        node_id = nodes.node_id(server.client, agent.name)
        value = "eligible" if eligible else "ineligible"
        server.client.put(api_path("node", node_id, "eligibility"), {"NodeID": node_id, "Eligibility": value})

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
        if not job_ids:
            raise ValueError("Name at least one job.")
        client = REGISTRY.client(agent)
        if nodes is None:
            nodes = [node["Name"] for node in client.get("/v1/nodes") or [] if node.get("Status") == "ready"]
        running = [
            alloc
            for job_id in job_ids
            for alloc in lookup.job_allocations(client, job_id)
            if alloc["ClientStatus"] == "running"
        ]
        counts = Counter(alloc["NodeName"] for alloc in running)
        spread = {node: counts.get(node, 0) for node in sorted(nodes)}
        elsewhere = {node: count for node, count in counts.items() if node not in spread}
        shown = ", ".join(f"{node}: {count}" for node, count in {**spread, **elsewhere}.items())
        logger.info(f"Running allocations of {', '.join(job_ids)} per node: {shown}.")
        if elsewhere:
            raise AssertionError(f"Allocations run outside {sorted(nodes)}: {shown}.")
        values = list(spread.values())
        if per_node is not None:
            if any(value != per_node for value in values):
                raise AssertionError(f"Expected {per_node} running allocation(s) on each node, got {shown}.")
        elif values and (max(values) - min(values) > 1 or (len(running) >= len(values) and min(values) == 0)):
            raise AssertionError(f"Allocations are not spread evenly: {shown}.")

    @keyword(tags=[WAIT])
    def wait_for_allocation_to_be_unknown(
        self, job_id: str, alloc_id: str, timeout: timedelta = timedelta(minutes=1), agent: str | None = None
    ) -> None:
        """Waits until the allocation's client status is ``unknown``: its node is disconnected and the job's
        ``disconnect`` block keeps it instead of calling it lost.

        Example:
        | `Wait For Allocation To Be Unknown` | ${job} | ${alloc} |
        """
        client = REGISTRY.client(agent)
        alloc_id = lookup.select_allocation(client, job_id, alloc_id)["ID"]

        def check(alloc: Any) -> Outcome:
            status = alloc.get("ClientStatus")
            if status == "unknown":
                return Done()
            if lookup.is_terminal(alloc):
                return Impossible(f"it is already {status}")
            return Pending(f"status {status}")

        outcome = waits.watch(client, api_path("allocation", alloc_id), check, Deadline(timeout))
        if not isinstance(outcome, Done):
            detail = outcome.reason if isinstance(outcome, Impossible) else f"last seen {outcome.status}"
            raise AssertionError(
                f"Allocation {lookup.short(alloc_id)} of job '{job_id}' did not become unknown: {detail}."
            )

    @keyword(tags=[WAIT])
    def wait_for_replacement_allocation(
        self, job_id: str, alloc_id: str, timeout: timedelta = timedelta(minutes=1), agent: str | None = None
    ) -> str:
        """Waits until another allocation of the job than ``alloc_id`` runs, on another node; returns its id.

        Nomad places a replacement when the node of ``alloc_id`` goes down (the allocation is lost)
        or is disconnected (the allocation is unknown). Logs the seconds since that node's last
        disruption (`Kill Nomad Client`, `Partition Nomad Node`).

        Example:
        | ${new} = | `Wait For Replacement Allocation` | ${job} | ${alloc}[ID] |
        """
        client = REGISTRY.client(agent)
        original = lookup.select_allocation(client, job_id, alloc_id)

        def check(_summary: Any) -> Outcome:
            allocations = lookup.job_allocations(client, job_id)
            others = [alloc for alloc in allocations if alloc["ID"] != original["ID"]]
            for alloc in others:
                if alloc["ClientStatus"] == "running" and alloc["NodeID"] != original["NodeID"]:
                    return Done(alloc)
            shown = ", ".join(f"{lookup.short(a['ID'])} on {a['NodeName']}: {a['ClientStatus']}" for a in allocations)
            return Pending(shown)

        outcome = waits.watch(client, api_path("job", job_id, "summary"), check, Deadline(timeout), longest=1.0)
        if not isinstance(outcome, Done):
            raise AssertionError(
                f"No replacement of allocation {lookup.short(original['ID'])} of job '{job_id}' ran on another node "
                f"within {Deadline(timeout)}; allocations: {outcome.status}."
            )
        replacement = outcome.value
        node = next((a for a in REGISTRY.agents() if a.name == original["NodeName"]), None)
        disruption = node.last_disruption if node else None
        since = f" {time.time() - disruption.at:.2f} s after its {disruption.what}" if disruption else ""
        logger.info(
            f"Allocation {lookup.short(original['ID'])} on {original['NodeName']} was replaced by "
            f"{lookup.short(replacement['ID'])}, running on {replacement['NodeName']}{since}."
        )
        return replacement["ID"]

    @keyword(tags=[WAIT])
    def wait_for_job_to_reconcile(
        self, job_id: str, running: int = 1, timeout: timedelta = timedelta(minutes=1), agent: str | None = None
    ) -> list[str]:
        """Waits until the job has exactly ``running`` running allocations and every other one is stopped
        (none pending or ``unknown``); returns the ids of the running ones.

        After a disconnected node comes back, Nomad keeps one of the original and its replacement
        (the ``disconnect`` block's ``reconcile``) and stops the other.

        Example:
        | ${kept} = | `Wait For Job To Reconcile` | ${job} | running=1 |
        """
        client = REGISTRY.client(agent)
        deadline = Deadline(timeout)

        def check(_summary: Any) -> Outcome:
            allocations = lookup.job_allocations(client, job_id)
            alive = [alloc for alloc in allocations if alloc["ClientStatus"] == "running"]
            settling = [
                alloc for alloc in allocations if not lookup.is_terminal(alloc) and alloc["ClientStatus"] != "running"
            ]
            # A running allocation told to stop is still settling.
            stopping = [alloc for alloc in alive if alloc.get("DesiredStatus") != "run"]
            if len(alive) == running and not settling and not stopping:
                return Done([alloc["ID"] for alloc in alive])
            shown = ", ".join(
                f"{lookup.short(a['ID'])} on {a['NodeName']}: {a['ClientStatus']}/{a.get('DesiredStatus')}"
                for a in allocations
            )
            return Pending(shown)

        lookup.get_job(client, job_id)
        began = time.monotonic()
        outcome = waits.watch(client, api_path("job", job_id, "summary"), check, deadline, longest=1.0)
        if not isinstance(outcome, Done):
            raise AssertionError(
                f"Job '{job_id}' did not reconcile to {running} running within {deadline}: {outcome.status}."
            )
        logger.info(f"Job '{job_id}' reconciled after {time.monotonic() - began:.2f} s: running {outcome.value}.")
        return outcome.value

    @keyword(tags=[WAIT])
    def wait_for_nomad_service(
        self, service: str, timeout: timedelta = timedelta(seconds=30), agent: str | None = None
    ) -> list[dict]:
        """Waits until a Nomad native service (``provider = "nomad"``) has a registration; returns them.

        Each is Nomad's registration with ``Address``, ``Port``, ``NodeID``, ``AllocID``...

        Example:
        | ${instances} = | `Wait For Nomad Service` | echo |
        """
        client = REGISTRY.client(agent)

        def check(data: Any) -> Outcome:
            return Done(data) if data else Pending("no registration")

        deadline = Deadline(timeout)
        outcome = waits.watch(client, api_path("service", service), check, deadline)
        if not isinstance(outcome, Done):
            raise AssertionError(f"Service '{service}' was not registered within {deadline}.")
        return outcome.value

"""What tests do to a cluster's client nodes, and the waits until the servers see it.

Faults (kill a client, cut it off the network, connect it again) and maintenance (drain, set
eligibility) act on one client agent; a running server of its cluster is asked about its node,
since the client itself may be dead or unreachable.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from robot.api import logger

from nomadtest.agents import nodes
from nomadtest.api.client import api_path
from nomadtest.api.watch import watch
from nomadtest.host import netns
from nomadtest.jobs import lookup, waits
from nomadtest.registry import REGISTRY, Agent, Disruption
from nomadtest.waiting import Deadline, Done, Outcome, Pending

if TYPE_CHECKING:
    from nomadtest.agents.manager import AgentManager

NODE_STATUSES = ("initializing", "ready", "down", "disconnected")
NANOSECONDS = 1_000_000_000
PARTITION = "network partition"
# A drain wait also lists the node's allocations, which can change without touching the node.
LONGEST_DRAIN_QUERY = 1.0


def client_agent(node: str) -> Agent:
    agent = REGISTRY.find(node)
    if not agent.is_client:
        raise AssertionError(f"Nomad agent '{agent.name}' runs no client, so it is no node.")
    return agent


def server_for(manager: AgentManager, agent: Agent) -> Agent:
    server = manager.cluster_server(agent)
    if server is None:
        raise AssertionError(f"No server of the cluster of '{agent.name}' is running to ask about it.")
    return server


def network_host(manager: AgentManager, agent: Agent) -> netns.Host:
    """The node's end of its cluster's test network, which a partition cuts."""
    network = manager.networks.get(agent.cluster)
    if not agent.netns or network is None:
        raise AssertionError(
            f"Nomad node '{agent.name}' runs on this host's loopback, so it cannot be cut off: "
            "start the cluster with network=isolated."
        )
    return network.host(agent.netns)


# -- faults ---------------------------------------------------------------------------------------


def kill_client(manager: AgentManager, node: str) -> None:
    agent = client_agent(node)
    if agent.is_server:
        raise AssertionError(f"Nomad agent '{agent.name}' is also a server: use 'Kill Nomad Agent'.")
    if not agent.is_running:
        raise AssertionError(f"Nomad client '{agent.name}' is not running.")
    manager.kill(agent)


def partition(manager: AgentManager, node: str) -> None:
    agent = client_agent(node)
    host = network_host(manager, agent)
    agent.record_disruption(PARTITION, agent.pid)
    netns.set_connected(host, False)
    logger.info(f"Cut Nomad node '{agent.name}' ({host.address}, namespace {host.namespace}) off the network.")


def heal(manager: AgentManager, node: str) -> None:
    """Connect a node cut off by :func:`partition` again; the partition ends now."""
    agent = client_agent(node)
    host = network_host(manager, agent)
    if netns.is_connected(host):
        logger.info(f"Nomad node '{agent.name}' is not cut off.")
        return
    netns.set_connected(host, True)
    disruption = agent.last_disruption
    if disruption is not None and disruption.what == PARTITION:
        disruption.restarted_at = time.time()
    logger.info(f"Connected Nomad node '{agent.name}' ({host.address}) again.")


# -- status ---------------------------------------------------------------------------------------


def measured_from(disruption: Disruption | None, status: str, began: float) -> tuple[float, str]:
    """The moment a node status is timed from, and what happened then.

    ``ready`` counts from the end of the node's last disruption when it ended (restart, heal),
    any other status from its start; a node never disrupted counts from ``began``.
    """
    if disruption is None:
        return began, "the wait began"
    reference = disruption.restarted_at if status == "ready" and disruption.restarted_at else disruption.at
    return reference, f"its {disruption.what}" + (" ended" if reference == disruption.restarted_at else "")


def wait_for_status(manager: AgentManager, node: str, status: str, timeout: timedelta | float) -> float:
    """Seconds from the node's last disruption (or from the call) until the servers report ``status``."""
    waits.check_choice(status, NODE_STATUSES, "Node status")
    agent = client_agent(node)
    deadline = Deadline(timeout)
    began = time.time()
    server = server_for(manager, agent)
    node_id = nodes.node_id(server.client, agent.name)

    def check(data: Any) -> Outcome:
        current = (data or {}).get("Status")
        return Done() if current == status else Pending(f"status {current}")

    outcome = watch(server.client, api_path("node", node_id), check, deadline)
    if not isinstance(outcome, Done):
        raise AssertionError(
            f"Nomad node '{agent.name}' was not {status} within {deadline}; last seen: {outcome.status}."
        )
    reference, what = measured_from(agent.last_disruption, status, began)
    seconds = time.time() - reference
    logger.info(f"Nomad node '{agent.name}' is {status} {seconds:.2f} s after {what}.")
    return seconds


# -- maintenance ----------------------------------------------------------------------------------


def drain_progress(node: dict | None, allocations: list[dict]) -> Outcome:
    """Done when the node's drain is over and none of its allocations is left running."""
    left = [alloc for alloc in allocations if not lookup.is_terminal(alloc)]
    strategy = (node or {}).get("DrainStrategy")
    if strategy is None and not left:
        return Done()
    running = ", ".join(f"{a['JobID']}/{lookup.short(a['ID'])} {a['ClientStatus']}" for a in left) or "none"
    return Pending(f"drain {'under way' if strategy else 'complete'}; allocations left: {running}")


def drain(manager: AgentManager, node: str, drain_deadline: timedelta | float, timeout: timedelta | float) -> None:
    """Drain the node with Nomad's ``drain_deadline`` and wait until nothing runs on it any more."""
    agent = client_agent(node)
    wait = Deadline(timeout)
    server = server_for(manager, agent)
    node_id = nodes.node_id(server.client, agent.name)
    spec = {"Deadline": int(Deadline(drain_deadline).seconds * NANOSECONDS), "IgnoreSystemJobs": False}
    began = time.monotonic()
    server.client.put(api_path("node", node_id, "drain"), {"NodeID": node_id, "DrainSpec": spec})

    def check(data: Any) -> Outcome:
        return drain_progress(data, server.client.get(api_path("node", node_id, "allocations")) or [])

    outcome = watch(server.client, api_path("node", node_id), check, wait, longest=LONGEST_DRAIN_QUERY)
    if not isinstance(outcome, Done):
        raise AssertionError(f"Draining Nomad node '{agent.name}' did not finish within {wait}: {outcome.status}.")
    logger.info(f"Drained Nomad node '{agent.name}' in {time.monotonic() - began:.1f} s.")


def set_eligibility(manager: AgentManager, node: str, eligible: bool) -> None:
    agent = client_agent(node)
    server = server_for(manager, agent)
    node_id = nodes.node_id(server.client, agent.name)
    value = "eligible" if eligible else "ineligible"
    server.client.put(api_path("node", node_id, "eligibility"), {"NodeID": node_id, "Eligibility": value})

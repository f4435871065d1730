"""Where a job's allocations run across a cluster's nodes, and the waits that follow them from node to node.

A node going down, away or coming back moves allocations: they become ``unknown`` or ``lost``,
are replaced elsewhere, and after a reconnect one of two copies is stopped. The job waits here
watch the job summary, which Nomad updates on each of those changes; the conditions are plain
functions of the allocations so that they can be checked without a cluster.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from robot.api import logger

from nomadtest.api.client import NomadClient, api_path
from nomadtest.api.watch import watch
from nomadtest.jobs import lookup
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, Done, Impossible, Outcome, Pending

# Job waits re-read the allocations after each answer; they may change without touching the summary.
LONGEST_JOB_QUERY = 1.0


# -- spread ---------------------------------------------------------------------------------------


def ready_nodes(client: NomadClient) -> list[str]:
    return [node["Name"] for node in client.get("/v1/nodes") or [] if node.get("Status") == "ready"]


def running_per_node(client: NomadClient, job_ids: Iterable[str]) -> Counter[str]:
    """How many running allocations of the jobs each node has."""
    return Counter(
        alloc["NodeName"]
        for job_id in job_ids
        for alloc in lookup.job_allocations(client, job_id)
        if alloc["ClientStatus"] == "running"
    )


def describe_spread(counts: Mapping[str, int], nodes: Iterable[str]) -> str:
    """``node: count`` for each of ``nodes`` (sorted, zeros too), then for the nodes outside them."""
    spread = {node: counts.get(node, 0) for node in sorted(nodes)}
    elsewhere = {node: count for node, count in counts.items() if node not in spread}
    return ", ".join(f"{node}: {count}" for node, count in {**spread, **elsewhere}.items())


def spread_failure(counts: Mapping[str, int], nodes: Iterable[str], per_node: int | None) -> str | None:
    """Why ``counts`` (running allocations by node) is not spread over ``nodes`` as asked; None when it is.

    Asked is ``per_node`` on each node, or else evenly: counts differ by at most one, and every
    node has one when there are enough.
    """
    nodes = sorted(nodes)
    spread = {node: counts.get(node, 0) for node in nodes}
    shown = describe_spread(counts, nodes)
    if any(node not in spread for node in counts):
        return f"Allocations run outside {nodes}: {shown}."
    values = list(spread.values())
    if per_node is not None:
        if any(value != per_node for value in values):
            return f"Expected {per_node} running allocation(s) on each node, got {shown}."
    elif values and (max(values) - min(values) > 1 or (sum(counts.values()) >= len(values) and min(values) == 0)):
        return f"Allocations are not spread evenly: {shown}."
    return None


def check_spread(
    client: NomadClient, job_ids: tuple[str, ...], nodes: list[str] | None = None, per_node: int | None = None
) -> None:
    """Fail unless the running allocations of the jobs are spread over ``nodes`` (default: the ready ones)."""
    if not job_ids:
        raise ValueError("Name at least one job.")
    if nodes is None:
        nodes = ready_nodes(client)
    counts = running_per_node(client, job_ids)
    logger.info(f"Running allocations of {', '.join(job_ids)} per node: {describe_spread(counts, nodes)}.")
    failure = spread_failure(counts, nodes, per_node)
    if failure:
        raise AssertionError(failure)


# -- an allocation whose node is disconnected -----------------------------------------------------


def unknown(alloc: dict) -> Outcome:
    """Done once the allocation is ``unknown``; impossible once it ended."""
    status = alloc.get("ClientStatus")
    if status == "unknown":
        return Done()
    if lookup.is_terminal(alloc):
        return Impossible(f"it is already {status}")
    return Pending(f"status {status}")


def wait_until_unknown(client: NomadClient, job_id: str, alloc_id: str, timeout: timedelta | float) -> None:
    alloc_id = lookup.select_allocation(client, job_id, alloc_id)["ID"]
    outcome = watch(client, api_path("allocation", alloc_id), unknown, Deadline(timeout))
    if not isinstance(outcome, Done):
        detail = outcome.reason if isinstance(outcome, Impossible) else f"last seen {outcome.status}"
        raise AssertionError(f"Allocation {lookup.short(alloc_id)} of job '{job_id}' did not become unknown: {detail}.")


# -- replacement and reconciliation ---------------------------------------------------------------


def successors(original_id: str, allocations: list[dict]) -> list[dict]:
    """The allocations that replaced ``original_id``, directly or in turn, oldest first.

    Nomad links a replacement to what it replaces (``NextAllocation`` of the original, in the
    list stubs; ``PreviousAllocation`` of the replacement, in full allocations). Only these links
    make an allocation a replacement: another one running meanwhile may be an original too.
    """
    by_id = {alloc["ID"]: alloc for alloc in allocations}
    chain: list[dict] = []
    seen, current = {original_id}, original_id
    while True:
        following = by_id.get(current, {}).get("NextAllocation") or next(
            (alloc["ID"] for alloc in allocations if alloc.get("PreviousAllocation") == current), None
        )
        if not following or following in seen or following not in by_id:
            return chain
        chain.append(by_id[following])
        seen.add(following)
        current = following


def describe_allocations(allocations: list[dict], node_status: Mapping[str, str] | None = None) -> str:
    """``id on node: client/desired status``, with the node's status when it is not ready."""

    def node(alloc: dict) -> str:
        status = (node_status or {}).get(alloc.get("NodeID", ""), "ready")
        return alloc["NodeName"] if status == "ready" else f"{alloc['NodeName']} ({status})"

    return ", ".join(
        f"{lookup.short(a['ID'])} on {node(a)}: {a['ClientStatus']}/{a.get('DesiredStatus')}" for a in allocations
    )


def replacement(original: dict, allocations: list[dict]) -> Outcome:
    """Done with the replacement of ``original`` that runs on another node; only linked allocations count."""
    chain = successors(original["ID"], allocations)
    for alloc in chain:
        if alloc["ClientStatus"] == "running" and alloc["NodeID"] != original["NodeID"]:
            return Done(alloc)
    linked = ", ".join(lookup.short(a["ID"]) for a in chain) or "none yet"
    return Pending(f"replacements of {lookup.short(original['ID'])}: {linked}; {describe_allocations(allocations)}")


def wait_for_replacement(client: NomadClient, job_id: str, alloc_id: str, timeout: timedelta | float) -> str:
    """The id of the allocation that replaced ``alloc_id`` on another node, once it runs."""
    original = lookup.select_allocation(client, job_id, alloc_id)
    deadline = Deadline(timeout)
    outcome = watch(
        client,
        api_path("job", job_id, "summary"),
        lambda _summary: replacement(original, lookup.job_allocations(client, job_id)),
        deadline,
        longest=LONGEST_JOB_QUERY,
    )
    if not isinstance(outcome, Done):
        raise AssertionError(
            f"No replacement of allocation {lookup.short(original['ID'])} of job '{job_id}' ran on another node "
            f"within {deadline}; {outcome.status}."
        )
    new = outcome.value
    node = next((agent for agent in REGISTRY.agents() if agent.name == original["NodeName"]), None)
    disruption = node.last_disruption if node else None
    since = f" {time.time() - disruption.at:.2f} s after its {disruption.what}" if disruption else ""
    logger.info(
        f"Allocation {lookup.short(original['ID'])} on {original['NodeName']} was replaced by "
        f"{lookup.short(new['ID'])}, running on {new['NodeName']}{since}."
    )
    return new["ID"]


def node_statuses(client: NomadClient) -> dict[str, str]:
    """Each node's status as the servers see it, by node id."""
    return {node["ID"]: node.get("Status", "") for node in client.get("/v1/nodes") or []}


def reconciled(allocations: list[dict], running: int, node_status: Mapping[str, str] | None = None) -> Outcome:
    """Done with the ids of the running allocations when there are ``running`` and all others stopped.

    An allocation counts as running only on a ready node: on a node that is down or disconnected
    it is about to be lost or unknown, whatever its last reported status (unknown nodes count
    as ready, for callers that know none).
    """
    statuses = node_status or {}

    def on_ready_node(alloc: dict) -> bool:
        return statuses.get(alloc.get("NodeID", ""), "ready") == "ready"

    alive = [alloc for alloc in allocations if alloc["ClientStatus"] == "running" and on_ready_node(alloc)]
    settling = [alloc for alloc in allocations if not lookup.is_terminal(alloc) and alloc not in alive]
    # A running allocation told to stop is still settling.
    stopping = [alloc for alloc in alive if alloc.get("DesiredStatus") != "run"]
    if len(alive) == running and not settling and not stopping:
        return Done([alloc["ID"] for alloc in alive])
    return Pending(describe_allocations(allocations, statuses))


def wait_until_reconciled(client: NomadClient, job_id: str, running: int, timeout: timedelta | float) -> list[str]:
    """The ids of the job's running allocations once exactly ``running`` run and every other one stopped."""
    deadline = Deadline(timeout)
    lookup.get_job(client, job_id)
    began = time.monotonic()
    outcome = watch(
        client,
        api_path("job", job_id, "summary"),
        lambda _summary: reconciled(lookup.job_allocations(client, job_id), running, node_statuses(client)),
        deadline,
        longest=LONGEST_JOB_QUERY,
    )
    if not isinstance(outcome, Done):
        raise AssertionError(
            f"Job '{job_id}' did not reconcile to {running} running within {deadline}: {outcome.status}."
        )
    logger.info(f"Job '{job_id}' reconciled after {time.monotonic() - began:.2f} s: running {outcome.value}.")
    return outcome.value


# -- native services ------------------------------------------------------------------------------


def registered(data: Any) -> Outcome:
    return Done(data) if data else Pending("no registration")


def wait_for_service(client: NomadClient, service: str, timeout: timedelta | float) -> list[dict]:
    """The registrations of a Nomad native service, once it has one."""
    deadline = Deadline(timeout)
    outcome = watch(client, api_path("service", service), registered, deadline)
    if not isinstance(outcome, Done):
        raise AssertionError(f"Service '{service}' was not registered within {deadline}.")
    return outcome.value

"""Faults and maintenance on client nodes, and the node status wait (nomadtest.agents.nodefaults)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import fake_agent
from test_placement import Snapshots

from nomadtest.agents import nodefaults
from nomadtest.registry import REGISTRY, Agent, Disruption
from nomadtest.waiting import Done, Pending


@dataclass
class Server:
    client: Any


@dataclass
class Manager:
    """The part of AgentManager the node procedures use."""

    server: Server | None = None
    networks: dict = field(default_factory=dict)

    def cluster_server(self, agent: Agent) -> Server | None:
        return self.server


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Agent]:
    agent = fake_agent(tmp_path, name="client-7")
    REGISTRY.add(agent)
    try:
        yield agent
    finally:
        REGISTRY.remove(agent)


def node_state(status: str) -> dict[str, Any]:
    return {"/v1/nodes": [{"Name": "client-7", "ID": "n7"}], "/v1/node/n7": {"ID": "n7", "Status": status}}


def test_ready_is_timed_from_the_end_of_the_last_disruption_other_statuses_from_its_start():
    healed = Disruption("network partition", at=100.0, log_offset=0, restarted_at=130.0)
    assert nodefaults.measured_from(healed, "ready", 90.0) == (130.0, "its network partition ended")
    assert nodefaults.measured_from(healed, "disconnected", 90.0) == (100.0, "its network partition")
    killed = Disruption("agent SIGKILL", at=100.0, log_offset=0)
    assert nodefaults.measured_from(killed, "ready", 90.0) == (100.0, "its agent SIGKILL")
    assert nodefaults.measured_from(None, "down", 90.0) == (90.0, "the wait began")


def test_a_drain_is_over_when_nomad_dropped_its_strategy_and_nothing_runs():
    running = {"ID": "a" * 36, "JobID": "web", "ClientStatus": "running"}
    stopped = {**running, "ClientStatus": "complete"}
    assert nodefaults.drain_progress({"DrainStrategy": {"Deadline": 1}}, [running]) == Pending(
        "drain under way; allocations left: web/aaaaaaaa running"
    )
    assert nodefaults.drain_progress({"DrainStrategy": None}, [running]) == Pending(
        "drain complete; allocations left: web/aaaaaaaa running"
    )
    assert nodefaults.drain_progress({"DrainStrategy": {}}, [stopped]) == Pending(
        "drain complete; allocations left: none"
    )
    assert nodefaults.drain_progress({"DrainStrategy": None}, [stopped]) == Done()


def test_the_status_wait_asks_a_server_and_times_from_the_last_disruption(node):
    node.disruptions.append(Disruption("agent SIGKILL", at=time.time() - 5, log_offset=0))
    manager = Manager(Server(Snapshots(node_state("ready"), node_state("down"))))
    assert nodefaults.wait_for_status(manager, "client-7", "down", 5) >= 5


def test_a_status_timeout_tells_the_status_last_seen(node):
    manager = Manager(Server(Snapshots(node_state("ready"))))
    with pytest.raises(AssertionError) as raised:
        nodefaults.wait_for_status(manager, "client-7", "down", 0.05)
    assert str(raised.value) == "Nomad node 'client-7' was not down within 50 milliseconds; last seen: status ready."


def test_an_unknown_status_is_refused_before_anything_is_asked(node):
    with pytest.raises(ValueError, match="Node status must be one of initializing, ready, down, disconnected, not"):
        nodefaults.wait_for_status(Manager(), "client-7", "gone", 5)


def test_a_node_without_a_running_server_or_a_test_network_says_so(node):
    with pytest.raises(AssertionError) as raised:
        nodefaults.set_eligibility(Manager(), "client-7", False)
    assert str(raised.value) == "No server of the cluster of 'client-7' is running to ask about it."
    with pytest.raises(AssertionError, match="runs on this host's loopback, so it cannot be cut off"):
        nodefaults.partition(Manager(), "client-7")
    assert node.disruptions == []


def test_a_client_that_is_also_a_server_is_not_killed_as_a_client(node):
    node.role = "server+client"
    with pytest.raises(AssertionError, match=re.escape("is also a server: use 'Kill Nomad Agent'.")):
        nodefaults.kill_client(Manager(), "client-7")
    node.role = "server"
    with pytest.raises(AssertionError) as raised:
        nodefaults.kill_client(Manager(), "client-7")
    assert str(raised.value) == "Nomad agent 'client-7' runs no client, so it is no node."

"""Picking free ports and retrying a start that lost a port race."""

from __future__ import annotations

import random
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import NOMAD_BIN, needs_nomad

from nomadtest.agents.configuration import AgentSettings, render_config
from nomadtest.agents.readiness import AgentExitedError, AgentNotReadyError, check_alive, with_port_retry
from nomadtest.host import ports
from nomadtest.host.ports import AgentPorts, PortConflictError
from nomadtest.registry import Agent

NOMAD_CONFLICT = (
    "==> Error starting agent: could not set up HTTP listener: error starting HTTP server: "
    "listen tcp 127.0.0.1:4646: bind: address already in use"
)


def test_picked_ports_are_distinct_free_and_below_the_ephemeral_range():
    picked = ports.pick_ports(30)
    assert len(set(picked)) == 30
    low, _ = ports.ephemeral_range()
    assert all(ports.LOWEST_PORT <= port < low for port in picked)
    assert ports.busy_ports(picked) == []


def test_excluded_ports_are_never_picked():
    pool = ports.candidate_range()
    excluded = set(range(pool.start, pool.start + 500))
    rng = random.Random(7)
    for _ in range(20):
        assert not excluded & set(ports.pick_agent_ports(excluded, rng=rng))


def test_a_listening_port_is_busy_and_skipped():
    with socket.socket() as sock:
        sock.bind((ports.HOST, 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert not ports.is_free(taken)
        assert ports.busy_ports([taken]) == [taken]


@pytest.mark.parametrize(
    ("text", "conflict"),
    [
        (NOMAD_CONFLICT, True),
        ("Failed to start Serf: Could not set up network transport: listen udp 127.0.0.1:4648: bind: ...", True),
        ("==> Error starting agent: invalid config: plugin_dir must be absolute", False),
    ],
)
def test_port_conflicts_are_told_apart_from_other_failures(text, conflict):
    assert ports.is_port_conflict(text) is conflict


def test_retry_uses_new_ports_after_a_conflict():
    picks = iter([AgentPorts(1, 2, 3), AgentPorts(4, 5, 6), AgentPorts(7, 8, 9)])
    tried, retried = [], []

    def launch(agent_ports):
        tried.append(agent_ports)
        if len(tried) < 3:
            raise PortConflictError("address already in use")
        return "started"

    assert with_port_retry(launch, lambda: next(picks), on_retry=lambda lost, _: retried.append(lost)) == "started"
    assert tried == [AgentPorts(1, 2, 3), AgentPorts(4, 5, 6), AgentPorts(7, 8, 9)]
    assert retried == tried[:2]


def test_retry_gives_up_after_three_conflicts():
    def launch(_):
        raise PortConflictError("address already in use")

    with pytest.raises(AgentNotReadyError, match="Gave up after 3 port conflicts"):
        with_port_retry(launch, lambda: AgentPorts(1, 2, 3))


def test_other_failures_are_not_retried():
    calls = []

    def launch(_):
        calls.append(1)
        raise AgentNotReadyError("driver unhealthy")

    with pytest.raises(AgentNotReadyError, match="driver unhealthy"):
        with_port_retry(launch, lambda: AgentPorts(1, 2, 3))
    assert calls == [1]


def fake_agent(tmp_path: Path, log: str, process: subprocess.Popen | None) -> Agent:
    (tmp_path / "agent.log").write_text(log)
    return Agent("a", "server+client", 1, 2, 3, tmp_path, tmp_path / "agent.hcl", tmp_path / "agent.log", process, "x")


def test_an_agent_that_exited_on_a_port_conflict_is_reported_as_one(tmp_path):
    process = subprocess.Popen(["true"])
    process.wait()
    with pytest.raises(PortConflictError):
        check_alive([fake_agent(tmp_path, NOMAD_CONFLICT, process)])
    with pytest.raises(AgentExitedError, match=r"exited with code 0(.|\n)*bad plugin"):
        check_alive([fake_agent(tmp_path, "bad plugin", process)])


@needs_nomad
def test_nomad_losing_its_http_port_is_a_port_conflict(tmp_path):
    with socket.socket() as sock:
        sock.bind((ports.HOST, 0))
        sock.listen()
        rpc, serf = ports.pick_ports(2, exclude=[sock.getsockname()[1]])
        agent_ports = AgentPorts(sock.getsockname()[1], rpc, serf)
        config = tmp_path / "agent.hcl"
        config.write_text(render_config(AgentSettings(name="clash"), agent_ports, tmp_path, tmp_path, {}))
        with open(tmp_path / "agent.log", "wb") as log:
            process = subprocess.Popen([str(NOMAD_BIN), "agent", "-config", str(config)], stdout=log, stderr=log)
        try:
            process.wait(30)
        finally:
            process.kill()
        agent = Agent("clash", "server+client", *agent_ports, tmp_path, config, tmp_path / "agent.log", process, "x")
        with pytest.raises(PortConflictError):
            check_alive([agent])

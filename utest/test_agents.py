"""Readiness decisions and ownership, without a real Nomad."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from conftest import fake_agent

from nomadtest.agents import agentlog, nodes, readiness, sessions
from nomadtest.agents.stopping import AgentStopper
from nomadtest.listener import OUTSIDE_ROBOT, OwnershipListener, current_owner, owned_by
from nomadtest.registry import Agent, Registry
from nomadtest.waiting import Deadline


def node(status="ready", detected=True, healthy=True, when="2030-01-01T00:00:00.123456789Z", text="Healthy"):
    info = {"Detected": detected, "Healthy": healthy, "HealthDescription": text, "UpdateTime": when}
    return {"Name": "n", "Status": status, "Drivers": {"crunjar": info}}


def test_parse_time_cuts_nanoseconds():
    assert nodes.parse_time("1970-01-01T00:00:01.123456789Z") == pytest.approx(1.123456)


def test_node_ready_needs_status_detection_health_and_a_fresh_fingerprint():
    since = nodes.parse_time("2029-12-31T00:00:00Z")
    assert readiness.NodeView("n", since, node()).ready("crunjar", require_driver=True)
    assert not readiness.NodeView("n", since, node(status="initializing")).ready("crunjar", require_driver=True)
    assert not readiness.NodeView("n", since, node(healthy=False)).ready("crunjar", require_driver=True)
    assert not readiness.NodeView("n", since, node(when="2029-01-01T00:00:00Z")).ready("crunjar", require_driver=True)
    assert not readiness.NodeView("n", since, node()).ready("raw_exec", require_driver=True)
    assert not readiness.NodeView("n", since).ready("crunjar", require_driver=True)


def test_without_the_driver_a_registered_node_with_a_fresh_fingerprint_is_ready():
    since = nodes.parse_time("2029-12-31T00:00:00Z")
    assert readiness.NodeView("n", since, node(healthy=False)).ready("crunjar", require_driver=False)
    # The view of the node from before a restart does not count.
    assert not readiness.NodeView("n", since, node(when="2029-01-01T00:00:00Z")).ready("crunjar", require_driver=False)
    assert not readiness.NodeView("n", since, node(status="initializing")).ready("crunjar", require_driver=False)


def test_a_fresh_fingerprint_without_the_driver_means_its_plugin_was_never_loaded():
    since = nodes.parse_time("2029-12-31T00:00:00Z")
    assert readiness.NodeView("n", since, node()).driver_missing("crunjr")
    assert not readiness.NodeView("n", since, node()).driver_missing("crunjar")
    assert not readiness.NodeView("n", since, node(when="2029-01-01T00:00:00Z")).driver_missing("crunjr")
    assert "(did you mean 'crunjar'?) is not among its drivers (crunjar)" in readiness.NodeView(
        "n", since, node()
    ).describe("crunjr")


def test_node_descriptions_carry_the_driver_health_description():
    view = readiness.NodeView("n", 0, node(healthy=False, text="crun not found at /usr/bin/crun"))
    assert view.describe("crunjar").startswith(
        "node 'n': status ready; driver 'crunjar' detected=True healthy=False: crun not found at /usr/bin/crun"
    )
    assert "is its plugin an executable file in the plugin_dir" in view.describe("other")
    assert readiness.NodeView("n", 0).describe("crunjar") == "node 'n': not registered"


def test_waiting_fails_at_once_when_the_agent_exits(tmp_path):
    with open(tmp_path / "agent.log", "w") as log:
        process = subprocess.Popen(["sh", "-c", "echo '==> Error starting agent: bad config'; exit 3"], stdout=log)
        process.wait()
    agent = Agent("a", "server+client", 1, 2, 3, tmp_path, tmp_path / "x", tmp_path / "agent.log", process, "crunjar")
    started = time.monotonic()
    with pytest.raises(
        readiness.AgentExitedError,
        match=r"exited with code 3 before it was ready\.\n.*\n==> Error starting agent: bad config",
    ):
        readiness.wait_until_ready(agent, [agent], {"a": 0}, "crunjar", Deadline(30))
    assert time.monotonic() - started < 1


def test_log_of_last_start_skips_earlier_runs(tmp_path):
    log = tmp_path / "agent.log"
    log.write_text(f"bind: address already in use\n\n{agentlog.RESTART_MARKER} at 10:00:00\nfine\n")
    assert agentlog.since_last_start(log) == f"{agentlog.RESTART_MARKER} at 10:00:00\nfine\n"


def test_notable_lines_are_warnings_and_errors_without_http_request_records():
    log = (
        "2030-01-01T00:00:00Z [DEBUG] http: request complete: method=GET path=/v1/nodes\n"
        "2030-01-01T00:00:00Z [WARN]  agent.plugin_loader: skipping un-executable file in plugin folder: file=x\n"
        '2030-01-01T00:00:00Z [ERROR] http: request failed: method=GET path=/v1/job/x error="job not found"\n'
        "==> Error starting agent: bad config\n"
    )
    assert agentlog.notable_lines(log) == [
        "2030-01-01T00:00:00Z [WARN]  agent.plugin_loader: skipping un-executable file in plugin folder: file=x",
        "==> Error starting agent: bad config",
    ]
    assert len(agentlog.quiet_lines(log)) == 2


def test_owners_contain_their_tests_and_child_suites_only():
    assert owned_by("Suites.A", "Suites.A")
    assert owned_by("Suites.A", "Suites.A.Test One")
    assert owned_by("Suites", "Suites.A.Test One")
    assert not owned_by("Suites.A", "Suites.AB.Test")


def test_owner_outside_robot():
    assert current_owner() == OUTSIDE_ROBOT


def test_listener_fails_a_test_whose_leftovers_could_not_be_cleaned():
    released = []

    def release(owner, keep):
        released.append(owner)
        return ["nomad-1"], ["port 4646 is still in use (pid 1)"]

    listener = OwnershipListener(release)
    result = SimpleNamespace(full_name="S.T", status="PASS", message="")
    listener.end_test(None, result)
    assert released == ["S.T"]
    assert result.status == "FAIL"
    assert result.message == "Cleanup of Nomad agent(s) left by the test failed: port 4646 is still in use (pid 1)"
    listener.close()
    assert released[-1] is None


def test_listener_keeps_a_passing_test_passing_when_nothing_was_left():
    listener = OwnershipListener(lambda owner, keep: ([], []))
    result = SimpleNamespace(full_name="S.T", status="PASS", message="")
    listener.end_test(None, result)
    assert result.status == "PASS"


def test_use_nomad_agent_makes_the_named_agent_current_and_returns_the_previous(tmp_path, monkeypatch):
    registry = Registry()
    monkeypatch.setattr(sessions, "REGISTRY", registry)
    first, second = fake_agent(tmp_path, name="first"), fake_agent(tmp_path, name="second")
    registry.add(first)
    registry.add(second)
    assert registry.find() is second
    assert sessions.use("first") == "second"
    assert registry.find() is first
    with pytest.raises(RuntimeError, match=r"No Nomad agent named 'third'; running: second, first\."):
        sessions.use("third")


LISTENER = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "print(s.getsockname()[1], flush=True); time.sleep(30)"
)


@pytest.mark.parametrize("names_run_dir", [True, False])
def test_a_stopped_agents_port_counts_as_left_only_when_its_holder_is_the_agents(tmp_path, names_run_dir):
    # Under pabot another run's agent bound a port a stopped cluster client had just freed.
    run_dir = tmp_path / "nomad-1"
    command = [sys.executable, "-c", LISTENER, *([str(run_dir)] if names_run_dir else [])]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        port = int(holder.stdout.readline())
        problems = AgentStopper.ports_still_taken([port], run_dir, wait=0.3)
    finally:
        holder.kill()
        holder.wait()
    assert problems == ([f"port {port} is still in use (pid {holder.pid})"] if names_run_dir else [])

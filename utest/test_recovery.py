"""Recovery library internals that need no Nomad: crash notes, agent log reading, plugin lookup, waits."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from conftest import fake_agent
from Recovery import Recovery

from nomadtest.agents import agentlog, crashes
from nomadtest.api.client import Blocking
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline

LOG = """\
    2026-11-22T02:42:57.374Z [INFO]  client.driver_mgr.nomad-driver-crunjar: started task: task_id=a1/app/x
    2026-11-22T02:42:58.382Z [ERROR] client.driver_mgr: plugin process exited: id=18148 error="signal: killed"
    2026-11-22T02:42:58.411Z [INFO]  client.driver_mgr.nomad-driver-crunjar: recovered task: task_id=a1/app/x
"""


def make_agent(tmp_path: Path, process: subprocess.Popen | None = None, name: str = "client-1") -> Agent:
    return fake_agent(tmp_path, process, name=name, driver="fake")


def test_a_disruption_notes_the_time_and_where_the_log_ended(tmp_path):
    agent = make_agent(tmp_path)
    assert agent.last_disruption is None
    first = agent.record_disruption("agent SIGKILL", 42)
    agent.log_path.write_text("line one\n")
    before = time.time()
    second = agent.record_disruption("driver plugin SIGKILL", 43)
    assert (first.log_offset, first.pid) == (0, 42)
    assert second.log_offset == len("line one\n") and second.at >= before
    assert agent.last_disruption is second and second.restarted_at is None


def test_log_lines_after_an_offset_with_every_needle(tmp_path):
    agent = make_agent(tmp_path)
    agent.log_path.write_text(LOG + "    2026-11-22T02:42:59.000Z [INFO] recovered task: task_id=a1 (no newline yet)")
    assert len(agentlog.lines_with(agent.log_path, 0, ["recovered task", "a1"])) == 1
    offset = LOG.index("    2026-11-22T02:42:58.411Z")
    assert agentlog.lines_with(agent.log_path, offset, ["plugin process exited"]) == []
    exited = agentlog.lines_with(agent.log_path, 0, ["plugin process exited", "id=18148"])
    assert exited[0].endswith('error="signal: killed"')
    # A line still being written is not read.
    assert agentlog.lines_with(agent.log_path, 0, ["no newline yet"]) == []


def test_log_line_time_is_read_from_nomads_timestamp():
    assert agentlog.line_time(LOG.splitlines()[2]) == pytest.approx(1795315378.411, abs=0.001)
    assert agentlog.line_time("==> NomadServer: starting agent again") is None


def test_log_growth_needs_a_complete_line_past_the_offset():
    growth = crashes.LogGrowth(len("a\nb\n"))
    assert growth.search("a\nb\n") is None
    assert growth.search("a\nb\nhalf a line") is None
    assert growth.search("a\nb\nc\n").lines == "c"


def test_signal_names_with_or_without_sig():
    assert crashes.parse_signal("SIGKILL") == signal.SIGKILL
    assert crashes.parse_signal("term") == signal.SIGTERM
    with pytest.raises(ValueError, match="Unknown signal 'SIGNOPE'"):
        crashes.parse_signal("SIGNOPE")


def _argv0_names(pid: int) -> list[str]:
    """What the children of ``pid`` run, once each has exec'd (a fork still shows bash)."""
    names = []
    for child in psutil.Process(pid).children():
        with contextlib.suppress(psutil.Error, IndexError):
            names.append(Path(child.cmdline()[0]).name)
    return names


def test_driver_plugin_process_is_the_agents_child_running_the_plugin_not_a_monitor(tmp_path, spawn):
    plugin = tmp_path / "nomad-driver-fake"
    plugin.symlink_to("/bin/sleep")
    # A fake agent with a plugin child and a "monitor" child whose argv is [plugin, "monitor"]: cat
    # blocks forever opening the FIFO named monitor, which has no writer.
    os.mkfifo(tmp_path / "monitor")
    script = f"cd {tmp_path}; {plugin} 1000 & (exec -a {plugin} cat monitor) & wait"
    agent_process = spawn(["bash", "-c", script], start_new_session=True)
    agent = make_agent(tmp_path, agent_process)
    deadline = Deadline(10)
    while not deadline.expired and _argv0_names(agent_process.pid) != ["nomad-driver-fake"] * 2:
        time.sleep(0.02)
    found = crashes.plugin_processes(agent, "nomad-driver-fake")
    assert [Path(process.cmdline()[0]).name for process in found] == ["nomad-driver-fake"]
    assert found[0].cmdline()[1:] == ["1000"]
    REGISTRY.add(agent)
    try:
        assert Recovery().get_driver_plugin_process(agent.name) == found[0].pid
        with pytest.raises(AssertionError, match="Expected one nomad-driver-other process"):
            Recovery().get_driver_plugin_process(agent.name, plugin="nomad-driver-other")
    finally:
        REGISTRY.remove(agent)
        os.killpg(agent_process.pid, signal.SIGKILL)  # the fake agent's children too


def test_no_plugin_without_a_running_agent(tmp_path):
    assert crashes.plugin_processes(make_agent(tmp_path), "nomad-driver-fake") == []


def test_waiting_for_a_process_to_exit_fails_with_what_it_still_is(spawn):
    process = spawn(["sleep", "1000"])
    with pytest.raises(AssertionError, match=r"still running after .*sleep 1000"):
        crashes.wait_gone(psutil.Process(process.pid), Deadline(0.2))
    os.kill(process.pid, signal.SIGKILL)
    crashes.wait_gone(psutil.Process(process.pid), Deadline(5))  # a zombie counts as gone
    Recovery().wait_until_process_exits(process.pid)


ALLOC = "a1b2c3d4-0000-0000-0000-000000000000"


class FakeClient:
    """Answers blocking queries on one allocation with the task state given."""

    def __init__(self, state: dict) -> None:
        self.state = state

    def blocking_get(self, path: str, index: int = 0, wait: float = 5.0, **params) -> Blocking:
        time.sleep(0.01)
        return Blocking({"ID": ALLOC, "TaskStates": {"app": self.state}}, index + 1)


def recovering_agent(tmp_path: Path, log: str, state: dict) -> Agent:
    agent = make_agent(tmp_path)
    agent.log_path.write_text("    2026-11-22T02:00:00.000Z [INFO] before the crash: recovered task " + ALLOC + "\n")
    agent.record_disruption("agent SIGKILL", 1)
    with open(agent.log_path, "a") as file:
        file.write(log)
    agent.client = FakeClient(state)
    return agent


def wait_for_recovery(agent: Agent, timeout: float = 5.0) -> str | None:
    return crashes.wait_for_recovery_line(
        agent, ALLOC, "app", "recovered task", agent.last_disruption, Deadline(timeout)
    )


def test_recovery_line_after_the_crash_is_found(tmp_path):
    line = f"    2026-11-22T02:00:01.000Z [INFO]  crunjar: recovered task: task_id={ALLOC}/app/x state=running\n"
    agent = recovering_agent(tmp_path, line, {"State": "running", "Events": []})
    assert wait_for_recovery(agent) == line.rstrip("\n")


def test_recovery_wait_fails_at_once_when_nomad_could_not_run_the_allocation(tmp_path):
    line = f"    2026-11-22T02:00:01.000Z [ERROR] client: error running alloc: alloc_id={ALLOC}\n"
    agent = recovering_agent(tmp_path, line, {"State": "running", "Events": []})
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"(?s)was not recovered after agent SIGKILL.*error running alloc"):
        wait_for_recovery(agent, timeout=30)
    assert time.monotonic() - started < 5


def test_recovery_wait_fails_at_once_on_a_failed_restore_event(tmp_path):
    event = {
        "Type": "Failed Restoring Task",
        "DisplayMessage": "failed to restore task",
        "Time": time.time_ns() + 10**9,
    }
    agent = recovering_agent(tmp_path, "", {"State": "running", "Events": [event]})
    with pytest.raises(AssertionError, match="Failed Restoring Task: failed to restore task"):
        wait_for_recovery(agent, timeout=30)


def test_recovery_wait_times_out_with_what_it_saw(tmp_path):
    agent = recovering_agent(tmp_path, "", {"State": "running", "Events": []})
    with pytest.raises(AssertionError, match=f"shows no 'recovered task' for allocation {ALLOC}.*task is running"):
        wait_for_recovery(agent, timeout=0.3)

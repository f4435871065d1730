"""Crash injection, recovery checks and leak checks for Nomad task drivers."""

from __future__ import annotations

import signal as signals
import time
from datetime import timedelta
from pathlib import Path

import psutil
from robot.api import logger
from robot.api.deco import keyword, library

from nomadtest import jobs, leaks, logs, processes, sweep
from nomadtest.logs import Match
from nomadtest.registry import REGISTRY, Agent
from nomadtest.timeouts import Deadline

DEFAULT_TIMEOUT = timedelta(seconds=60)
# How often process-table waits look again: process births and deaths raise no events to block on.
PROCESS_POLL_SECONDS = 0.1


class _LogGrowth:
    """Matches once a log holds a complete line past ``offset``: proof that output still flows."""

    description = "new output"

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def search(self, text: str, start: int = 0, complete_lines: bool = False) -> Match | None:
        end = text.rfind("\n")
        if end < self.offset:
            return None
        line_start = text.rfind("\n", 0, end) + 1
        return Match(text[self.offset : end + 1], text[line_start:end])

    def searched_until(self, text: str) -> int:
        return len(text)


@library(scope="GLOBAL", auto_keywords=False)
class Recovery:
    """Kills driver plugins and agents under running tasks, checks the tasks were recovered, and finds leaks.

    Nomad relaunches a task driver plugin that died and calls its ``RecoverTask`` for
    every task it was running; a client agent that restarts does the same from its
    state database. This library makes those crashes happen on purpose and checks
    what a user would: the task still runs, in the same JVM, without a restart, its
    output still flows, and the driver said it recovered it.

    Leak checks snapshot what the tasks of the agents hold on the host (crun
    containers, bundles, driver monitors, JVMs, mounts under alloc dirs, container
    cgroups) and fail listing precisely what is left.

    | ${pid}=    Get Task Process Id    ${job}
    | Kill Driver Plugin
    | Wait For Driver Plugin Restart
    | Task Should Have Been Recovered    ${job}    ${pid}
    | Stop Job    ${job}
    | Resources Should Not Have Leaked
    """

    @keyword
    def get_driver_plugin_process(self, agent: str | None = None, plugin: str | None = None) -> int:
        """The pid of the driver plugin process the agent runs (``nomad-driver-<driver>`` by default).

        | ${pid}=    Get Driver Plugin Process
        """
        target = REGISTRY.find(agent)
        found = _plugin_processes(target, plugin or f"nomad-driver-{target.driver}")
        if not found:
            raise AssertionError(f"Agent '{target.name}' runs no process of plugin {plugin or target.driver}.")
        return found[0].pid

    @keyword
    def kill_driver_plugin(self, agent: str | None = None, signal: str = "SIGKILL", plugin: str | None = None) -> int:
        """Sends ``signal`` (default SIGKILL) to the agent's driver plugin process; returns its pid.

        | ${old}=    Kill Driver Plugin
        | Kill Driver Plugin    signal=SIGTERM
        """
        pid = self.get_driver_plugin_process(agent, plugin)
        number = signals.Signals[signal if signal.startswith("SIG") else f"SIG{signal}"]
        psutil.Process(pid).send_signal(number)
        logger.info(f"Sent {number.name} to driver plugin process {pid}.")
        return pid

    @keyword
    def wait_for_driver_plugin_restart(
        self,
        previous_pid: int | None = None,
        agent: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        plugin: str | None = None,
    ) -> int:
        """Waits until a new plugin process runs (not ``previous_pid``) and the driver is healthy again.

        Returns the new pid. Fails with the plugin processes and the driver's health as last seen.

        | ${old}=    Kill Driver Plugin
        | ${new}=    Wait For Driver Plugin Restart    ${old}
        """
        target = REGISTRY.find(agent)
        name = plugin or f"nomad-driver-{target.driver}"
        deadline = Deadline(timeout)
        started = time.monotonic()
        while True:
            current = [p.pid for p in _plugin_processes(target, name) if p.pid != previous_pid]
            if current:
                break
            if deadline.expired:
                raise AssertionError(f"No new {name} process within {deadline} (previous pid {previous_pid}).")
            time.sleep(PROCESS_POLL_SECONDS)
        _wait_driver_healthy(target, deadline)
        logger.info(f"Driver plugin {name} relaunched as pid {current[0]}, healthy after {_since(started)}.")
        return current[0]

    @keyword
    def get_task_process_id(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """The host pid of the task's JVM, found by the allocation and task in its environment.

        | ${pid}=    Get Task Process Id    ${job}
        """
        alloc = jobs.select_allocation(REGISTRY.client(agent), job_id, alloc_id)
        name = jobs.resolve_task(alloc, task)
        found = _task_jvms(alloc["ID"], name)
        if len(found) != 1:
            raise AssertionError(
                f"Expected one JVM of task '{name}' (allocation {jobs.short(alloc['ID'])}), found {len(found)}: "
                + (", ".join(str(p) for p in found) or "none")
            )
        return found[0]

    @keyword
    def task_should_have_been_recovered(
        self,
        job_id: str,
        pid: int,
        restarts: int = 0,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
        recovery_log: str = "recovered task",
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> None:
        """Checks a running task survived a crash: still running, ``restarts`` unchanged, same JVM ``pid``,
        new output after the crash, and ``recovery_log`` in the agent log (empty to skip that check).

        | Task Should Have Been Recovered    ${job}    ${pid}
        """
        target = REGISTRY.find(agent)
        client = target.client
        alloc = jobs.select_allocation(client, job_id, alloc_id)
        name = jobs.resolve_task(alloc, task)
        state = jobs.task_state(alloc, name) or {}
        problems = []
        if alloc.get("ClientStatus") != "running" or state.get("State") != "running":
            problems.append(f"allocation is {alloc.get('ClientStatus')}, task is {state.get('State')}")
        if state.get("Restarts", 0) != restarts:
            problems.append(f"task restarted {state.get('Restarts', 0)} time(s), expected {restarts}")
        now = _task_jvms(alloc["ID"], name)
        if now != [int(pid)]:
            problems.append(f"JVM pid is now {now or 'gone'}, expected the same pid {pid}")
        if problems:
            raise AssertionError(f"Task '{name}' was not recovered: " + "; ".join(problems) + ".")
        deadline = Deadline(timeout)
        seen = logs.read_log(client, alloc["ID"], name)
        try:
            logs.follow_log(client, alloc["ID"], name, "stdout", _LogGrowth(len(seen)), deadline, lambda: False)
        except logs.LogWaitError as error:
            raise AssertionError(f"Task '{name}' was recovered but its stdout {error}.") from None
        if recovery_log:
            _wait_for_agent_log(target, recovery_log, deadline)
        logger.info(f"Task '{name}' recovered: running, {restarts} restart(s), JVM pid {pid}, output flowing.")

    @keyword
    def take_resource_snapshot(self, agent: str | None = None) -> dict:
        """What the tasks of the agent (all agents when none is named) hold on the host, by category.

        Categories: ``containers``, ``bundles``, ``monitors``, ``jvms``, ``mounts``, ``cgroups``.

        | ${before}=    Take Resource Snapshot
        """
        snapshot = leaks.take_snapshot(_agents(agent))
        logger.info("Resource snapshot:\n" + (leaks.describe(snapshot) or "(nothing held)"))
        return snapshot

    @keyword
    def resources_should_not_have_leaked(
        self,
        before: dict | None = None,
        agent: str | None = None,
        timeout: timedelta = timedelta(seconds=30),
        collect_garbage: bool = True,
    ) -> None:
        """Fails when the tasks hold more than in ``before`` (anything, without ``before``), after ``timeout``.

        Cleanup after a task stops is asynchronous, so this waits up to ``timeout`` for
        the leaks to go. With ``collect_garbage`` it first asks each client to garbage
        collect its terminal allocations, which is when Nomad unmounts their dirs.

        | ${before}=    Take Resource Snapshot
        | Stop Job    ${job}
        | Resources Should Not Have Leaked    ${before}
        """
        targets = _agents(agent)
        if collect_garbage:
            for target in targets:
                if target.is_client and target.is_running:
                    target.client.put("/v1/client/gc")
        deadline = Deadline(timeout)
        while True:
            left = leaks.leaked(before, leaks.take_snapshot(targets))
            if not any(left.values()):
                return
            if deadline.expired:
                raise AssertionError(f"Resources leaked (still held after {deadline}):\n{leaks.describe(left)}")
            time.sleep(PROCESS_POLL_SECONDS * 5)

    @keyword
    def run_root_should_be_clean(self, run_root: str) -> None:
        """Fails when anything of the agents run under ``run_root`` is left: processes, containers, mounts, dirs.

        | Run Root Should Be Clean    ${run_root}
        """
        root = Path(run_root)
        problems = [f"process {p.pid} {' '.join(p.cmdline())[:160]}" for p in processes.processes_using(root)]
        problems += [f"mount {m.mount_point}" for m in processes.mounts_under(root, processes.read_mounts())]
        for crun_root in root.glob("*/*/crunjar/crun"):
            problems += [f"container {c} in {crun_root}" for c in leaks.crun_containers(crun_root)]
        leftover_dirs = [str(p) for p in root.glob("*/*") if p.is_dir() and p.parent.name != "state"]
        problems += [f"run dir {d}" for d in leftover_dirs]
        if problems:
            raise AssertionError(f"{run_root} is not clean:\n" + "\n".join(problems))

    @keyword
    def run_root_should_hold_a_live_agent(self, run_root: str) -> None:
        """Fails unless a ``nomad agent`` process runs with its config under ``run_root``."""
        agents = [p for p in processes.processes_using(Path(run_root)) if "agent" in p.cmdline()[1:2]]
        if not agents:
            raise AssertionError(f"No live Nomad agent runs under {run_root}.")

    @keyword
    def sweep_dead_runs(self, run_root: str) -> list[str]:
        """Cleans up after robot processes that died under ``run_root`` (their state files name them).

        Returns what was swept. ``Start Nomad Server`` does this by itself for its own run root.
        """
        swept = sweep.sweep(Path(run_root))
        logger.info("Swept:\n" + ("\n".join(swept) or "(nothing)"))
        return swept

    @keyword
    def agent_should_have_left_nothing_behind(self, info: dict) -> None:
        """Fails when a stopped agent (``info`` from ``Get Nomad Agent Info``) left anything on the host.

        Checks its process, its run dir, mounts and processes naming it, containers
        in its crun root, cgroups under its cgroup parent, and its ports.
        """
        run_dir = Path(info["run_dir"])
        problems = []
        if processes.is_same_process(int(info["pid"]), info.get("create_time")):
            problems.append(f"agent process {info['pid']} still runs")
        problems += [f"process {p.pid} {' '.join(p.cmdline())[:160]}" for p in processes.processes_using(run_dir)]
        problems += [f"mount {m.mount_point}" for m in processes.mounts_under(run_dir, processes.read_mounts())]
        if run_dir.exists():
            problems.append(f"run dir {run_dir} still exists")
        if info.get("cgroup_parent"):
            hierarchies = processes.cgroup_hierarchies(processes.read_mounts())
            problems += [f"cgroup {c}" for c in leaks.container_cgroups(info["cgroup_parent"], hierarchies)]
        from nomadtest.ports import busy_ports

        ports = [int(info[key]) for key in ("http_port", "rpc_port", "serf_port")]
        problems += [f"port {port} still bound" for port in busy_ports(ports)]
        if problems:
            raise AssertionError(f"Agent '{info['name']}' left behind:\n" + "\n".join(problems))


def _agents(name: str | None) -> list[Agent]:
    return [REGISTRY.find(name)] if name else REGISTRY.agents()


def _plugin_processes(agent: Agent, binary: str) -> list[psutil.Process]:
    if agent.pid is None:
        return []
    try:
        children = psutil.Process(agent.pid).children()
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if argv and Path(argv[0]).name == binary and "monitor" not in argv[1:2]:
            found.append(child)
    return found


def _task_jvms(alloc_id: str, task: str) -> list[int]:
    wanted = {"NOMAD_ALLOC_ID": alloc_id, "NOMAD_TASK_NAME": task}
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] != "java":
                continue
            environ = process.environ()
        except psutil.Error:
            continue
        if all(environ.get(key) == value for key, value in wanted.items()):
            found.append(process.pid)
    return sorted(found)


def _wait_driver_healthy(agent: Agent, deadline: Deadline) -> None:
    client = agent.client
    node_id = next(n["ID"] for n in client.get("/v1/nodes") if n["Name"] == agent.name)
    index = 0
    last = "unknown"
    while not deadline.expired:
        answer = client.blocking_get(f"/v1/node/{node_id}", index, deadline.block_for())
        index = answer.index
        driver = (answer.data.get("Drivers") or {}).get(agent.driver) or {}
        if driver.get("Detected") and driver.get("Healthy"):
            return
        last = driver.get("HealthDescription") or "not detected"
    raise AssertionError(f"Driver {agent.driver} not healthy within {deadline}; last seen: {last}.")


def _wait_for_agent_log(agent: Agent, text: str, deadline: Deadline) -> None:
    # The agent log is a file the agent appends to; there is nothing to block on.
    while text not in agent.log_path.read_text(errors="replace"):
        if deadline.expired:
            raise AssertionError(f"The agent log of '{agent.name}' does not contain '{text}' within {deadline}.")
        time.sleep(PROCESS_POLL_SECONDS)


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.2f} s"

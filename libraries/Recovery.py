"""Crash injection, recovery checks and leak checks for Nomad task drivers."""

from __future__ import annotations

import re
import signal as signals
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import psutil
import requests
from robot.api import logger
from robot.api.deco import keyword, library

from nomadtest import agents as agentlib
from nomadtest import jobs, leaks, logs, processes, sweep
from nomadtest.client import NomadAPIError
from nomadtest.logs import Match
from nomadtest.ports import busy_ports
from nomadtest.registry import REGISTRY, Agent, Disruption
from nomadtest.timeouts import Deadline

__version__ = "0.2.0"

DEFAULT_TIMEOUT = timedelta(seconds=60)
# How often process-table and agent-log waits look again: process births and deaths, and lines
# appended to a file, raise nothing to block on.
PROCESS_POLL_SECONDS = 0.05
LOG_POLL_SECONDS = 0.1
# Longest blocking query on an allocation while also watching the agent log.
ALLOC_BLOCK_SECONDS = 0.25
# How often a leak check looks again while cleanup is still under way.
LEAK_POLL_SECONDS = 0.25
# Task events that show a task was not recovered as it ran: it failed to restore, was restarted or ended.
NOT_RECOVERED_EVENTS = frozenset(
    {
        "Failed Restoring Task",
        "Driver Failure",
        "Restarting",
        "Not Restarting",
        "Terminated",
        "Killing",
        "Killed",
        "Task hook failed",
    }
)
# What Nomad's client logs about an allocation it could not restore after a restart; in one case
# ("error running alloc") it records no task event and leaves the allocation unmanaged.
NOT_RECOVERED_LOG = ("error recovering task", "error running alloc", "failed to create driver")
# Nomad's own words when a plugin process it launched ends: "plugin process exited: driver=crunjar ... id=1234".
PLUGIN_EXITED = "plugin process exited"
_LOG_TIME = re.compile(r"^\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)")


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


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Recovery:
    """Crashes driver plugins, agents and tasks on purpose, checks how Nomad and the driver recover, and finds leaks.

    Nomad relaunches a task driver plugin that died and calls its ``RecoverTask``
    for every task it was running; a client agent that restarts does the same from
    the state in its data dir. This library makes those crashes happen and checks
    what a user would: the task still runs, in the same JVM, without a restart, its
    output still flows, and the driver said it recovered it.

    = Crashes and the agent log =

    `Kill Driver Plugin` here, and `Kill Nomad Agent`, `Restart Nomad Client` and
    `Restart Nomad Agent` of the NomadServer library, note the moment of the crash
    and how far the agent log went. The checks that follow read the agent log from
    there on only, so what an earlier crash made the agent log does not count, and
    they log how long the recovery took (lines starting with ``Timing:``).

    = Leaks =

    `Take Resource Snapshot` lists what the tasks of the agents hold on the host:
    processes (in the agent's process tree, using its run or state dir, or in a
    cgroup below the driver's cgroup parent; the agent itself and its current
    driver plugin excluded), crun containers and bundle dirs in the driver's state
    dir, mounts under the run dirs, cgroups below the driver's cgroup parent, and
    allocation dirs. `Resources Should Not Have Leaked` compares a new snapshot
    with one taken before and fails listing precisely what is left.

    = Example =

    | ${before} =    `Take Resource Snapshot`
    | ${job} =    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    | Wait For Task State    ${job}    running
    | ${pid} =    `Get Task Process Id`    ${job}
    | `Kill Driver Plugin`
    | `Wait For Driver Plugin Restart`
    | `Task Should Have Been Recovered`    ${job}    ${pid}
    | Stop Job    ${job}
    | `Resources Should Not Have Leaked`    ${before}
    """

    # -- driver plugin -------------------------------------------------------------------------

    @keyword
    def get_driver_plugin_process(self, agent: str | None = None, plugin: str | None = None) -> int:
        """Returns the pid of the driver plugin process the agent runs.

        The plugin is the agent's child running ``plugin``, by default
        ``nomad-driver-<driver>`` (``nomad-driver-crunjar``); the driver's per-task
        monitors are not counted. Fails when the agent runs none, or several.

        Example:
        | ${pid} = | `Get Driver Plugin Process` | |
        | ${pid} = | `Get Driver Plugin Process` | client-1 |
        """
        target = REGISTRY.find(agent)
        name = plugin or _plugin_binary(target)
        found = _plugin_processes(target, name)
        if len(found) != 1:
            listed = ", ".join(str(process.pid) for process in found) or "none"
            raise AssertionError(
                f"Expected one {name} process under Nomad agent '{target.name}' (pid {target.pid}), found {listed}."
            )
        return found[0].pid

    @keyword
    def kill_driver_plugin(self, agent: str | None = None, signal: str = "SIGKILL", plugin: str | None = None) -> int:
        """Sends ``signal`` (default ``SIGKILL``) to the agent's driver plugin process and returns its pid.

        With ``SIGKILL`` this waits until the process is gone. The agent log position and the
        time are noted, so that `Wait For Driver Plugin Restart`, `Wait Until Nomad Notices
        Driver Plugin Exit` and `Task Should Have Been Recovered` look only at what follows.

        Example:
        | ${old} = | `Kill Driver Plugin` | |
        | `Kill Driver Plugin` | signal=SIGTERM | |
        | `Kill Driver Plugin` | client-1 | |
        """
        number = _signal(signal)
        target = REGISTRY.find(agent)
        pid = self.get_driver_plugin_process(target.name, plugin)
        process = psutil.Process(pid)
        target.record_disruption(f"driver plugin {number.name}", pid)
        process.send_signal(number)
        if number == signals.SIGKILL:
            _wait_gone(process, Deadline(10))
        logger.info(f"Sent {number.name} to driver plugin process {pid} of Nomad agent '{target.name}'.")
        return pid

    @keyword
    def wait_until_nomad_notices_driver_plugin_exit(
        self, agent: str | None = None, timeout: timedelta = timedelta(seconds=30)
    ) -> str:
        """Waits until the agent logs that the driver plugin killed by `Kill Driver Plugin` exited.

        Nomad's driver manager logs ``plugin process exited: driver=<driver> ... id=<pid>``
        when a plugin it launched ends, and then relaunches it. Returns that log line;
        on timeout fails with the last lines of the agent log.

        Example:
        | `Kill Driver Plugin` | |
        | ${line} = | `Wait Until Nomad Notices Driver Plugin Exit` |
        | Should Contain | ${line} | signal: killed |
        """
        target = REGISTRY.find(agent)
        disruption = _last_plugin_kill(target)
        deadline = Deadline(timeout)
        wanted = (PLUGIN_EXITED, f"id={disruption.pid}")
        while True:
            found = _log_lines(target, disruption.log_offset, wanted)
            if found:
                noticed = _line_time(found[0])
                if noticed is not None:
                    logger.info(
                        f"Timing: Nomad noticed the plugin exit {noticed - disruption.at:.3f} s after the kill."
                    )
                return found[0].strip()
            if deadline.expired:
                raise AssertionError(
                    f"The log of Nomad agent '{target.name}' shows no '{PLUGIN_EXITED}' for plugin pid "
                    f"{disruption.pid} within {deadline} of the kill. Last lines:\n{agentlib.log_tail(target.log_path)}"
                )
            time.sleep(LOG_POLL_SECONDS)

    @keyword
    def wait_for_driver_plugin_restart(
        self,
        previous_pid: int | None = None,
        agent: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        plugin: str | None = None,
    ) -> int:
        """Waits until a new driver plugin process runs and the node reports the driver healthy again; returns its pid.

        ``previous_pid`` defaults to the plugin killed last by `Kill Driver Plugin`.
        Healthy again means the node, as the servers see it, has the driver detected
        and healthy in a fingerprint taken after the kill. The client sends driver
        health changes to the servers in batches, 5 to 10 seconds after the change, so
        this is also when Nomad's scheduler learns of it. Logs both times (``Timing:``).
        On timeout fails with the plugin processes and the driver's health as last seen.

        Example:
        | `Kill Driver Plugin` | | |
        | ${new} = | `Wait For Driver Plugin Restart` | |
        | ${new} = | `Wait For Driver Plugin Restart` | ${old} | timeout=90s |
        """
        target = REGISTRY.find(agent)
        name = plugin or _plugin_binary(target)
        disruption = target.last_disruption
        if previous_pid is None and disruption is not None and disruption.what.startswith("driver plugin"):
            previous_pid = disruption.pid
        since = disruption.at if disruption is not None else time.time()
        deadline = Deadline(timeout)
        while True:
            current = [process for process in _plugin_processes(target, name) if process.pid != previous_pid]
            if current:
                break
            if deadline.expired:
                raise AssertionError(
                    f"Nomad agent '{target.name}' started no new {name} process within {deadline} "
                    f"(the killed one was pid {previous_pid}). Last lines of its log:\n"
                    f"{agentlib.log_tail(target.log_path)}"
                )
            time.sleep(PROCESS_POLL_SECONDS)
        seen = time.time()
        _wait_driver_healthy(target, since, deadline)
        # Nomad logs "plugin started: driver=... pid=N" with its own timestamp: more exact than when we looked.
        started = _log_lines(
            target, disruption.log_offset if disruption else 0, ("plugin started", f"pid={current[0].pid}")
        )
        relaunched = (_line_time(started[0]) if started else None) or seen
        logger.info(
            f"Timing: driver plugin {name} relaunched as pid {current[0].pid} {relaunched - since:.3f} s after the "
            f"kill; the node reported the driver healthy again {time.time() - since:.3f} s after the kill."
        )
        return current[0].pid

    @keyword
    def wait_until_node_reports_driver_event(
        self, text: str, agent: str | None = None, timeout: timedelta = timedelta(seconds=30)
    ) -> str:
        """Waits until the node has a ``Driver`` event about the driver under test, since the last crash,
        whose message contains ``text``; returns the message.

        The client reports a driver's health changes to the servers as node events, in
        batches sent 5 to 10 seconds after the change: ``failed to fingerprint driver`` when
        its plugin died, ``Healthy`` when the relaunched plugin fingerprinted it. On timeout
        fails with the driver events seen.

        Example:
        | `Kill Driver Plugin` | |
        | `Wait Until Node Reports Driver Event` | failed to fingerprint driver |
        """
        target = REGISTRY.find(agent)
        disruption = target.last_disruption
        since = disruption.at if disruption else 0.0
        deadline = Deadline(timeout)
        node_id = _node_id(target)
        index = 0
        seen: list[str] = []
        while True:
            answer = target.client.blocking_get(f"/v1/node/{node_id}", index, deadline.block_for())
            index = answer.index
            seen = [
                event.get("Message", "")
                for event in answer.data.get("Events") or []
                if event.get("Subsystem") == "Driver"
                and (event.get("Details") or {}).get("driver") == target.driver
                and agentlib.parse_time(event.get("Timestamp") or "1970-01-01T00:00:00Z") >= since
            ]
            for message in seen:
                if text in message:
                    return message
            if deadline.expired:
                raise AssertionError(
                    f"The node of Nomad agent '{target.name}' reported no '{target.driver}' driver event containing "
                    f"'{text}' within {deadline}; driver events since then: {seen or 'none'}."
                )

    # -- tasks -----------------------------------------------------------------------------------

    @keyword
    def get_task_process_id(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """Returns the host pid of the task's JVM.

        The JVM is found by the ``NOMAD_ALLOC_ID`` and ``NOMAD_TASK_NAME`` in its
        environment, which works for any driver that runs a ``java`` process. Fails
        unless exactly one runs.

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | ${pid} = | `Get Task Process Id` | ${job} | task=web |
        """
        alloc = jobs.select_allocation(REGISTRY.client(agent), job_id, alloc_id)
        name = jobs.resolve_task(alloc, task)
        found = _task_jvms(alloc["ID"], name)
        if len(found) != 1:
            raise AssertionError(
                f"Expected one JVM of task '{name}' (allocation {jobs.short(alloc['ID'])}), found {len(found)}: "
                + (", ".join(str(pid) for pid in found) or "none")
            )
        return found[0]

    @keyword
    def kill_task_process(
        self,
        job_id: str,
        signal: str = "SIGKILL",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> int:
        """Sends ``signal`` (default ``SIGKILL``) to the task's JVM behind Nomad's back; returns its pid.

        Nomad and the driver are not told: this is the container dying on its own,
        as when the kernel's OOM killer or an operator kills it.

        Example:
        | ${old} = | `Kill Task Process` | ${job} |
        | Wait For Allocation Restarts | ${job} | 1 |
        """
        number = _signal(signal)
        pid = self.get_task_process_id(job_id, task, alloc_id, agent)
        psutil.Process(pid).send_signal(number)
        logger.info(f"Sent {number.name} to JVM pid {pid} of job '{job_id}'.")
        return pid

    @keyword
    def wait_until_process_exits(self, pid: int, timeout: timedelta = timedelta(seconds=30)) -> None:
        """Waits until process ``pid`` has exited (a zombie counts as exited); fails with what it still is.

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | Stop Job | ${job} | |
        | `Wait Until Process Exits` | ${pid} | |
        """
        try:
            process = psutil.Process(int(pid))
        except psutil.NoSuchProcess:
            return
        _wait_gone(process, Deadline(timeout))

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
        """Checks that a running task survived the last crash of its agent or driver plugin.

        In order, within ``timeout``:

        - the agent log, since the crash, has a line with ``recovery_log`` and the task's
          allocation id: the driver recovered the task (empty ``recovery_log`` skips this);
        - the allocation and the task are ``running``, restarted ``restarts`` times in all;
        - the task's JVM is still process ``pid`` (from `Get Task Process Id` before the crash);
        - the task writes new lines to its stdout after the recovery.

        Fails at once when a task event since the crash shows the task was not recovered
        (``Failed Restoring Task``, ``Driver Failure``, ``Restarting``, ``Terminated``...),
        quoting the events. Logs the time from the crash, and from the agent's restart, to
        the driver's recovery (``Timing:``).

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | Restart Nomad Client | | |
        | `Task Should Have Been Recovered` | ${job} | ${pid} |
        """
        target = REGISTRY.find(agent)
        client = target.client
        deadline = Deadline(timeout)
        alloc = jobs.select_allocation(client, job_id, alloc_id)
        name = jobs.resolve_task(alloc, task)
        disruption = target.last_disruption
        since = disruption.at if disruption else 0.0
        offset = disruption.log_offset if disruption else 0
        crash = disruption.what if disruption else "the start"
        line = _wait_for_recovery_line(target, alloc["ID"], name, recovery_log, offset, since, crash, deadline)
        alloc = jobs.get_allocation(client, alloc["ID"])
        state = jobs.task_state(alloc, name) or {}
        problems = []
        if alloc.get("ClientStatus") != "running" or state.get("State") != "running":
            problems.append(f"the allocation is {alloc.get('ClientStatus')} and the task {state.get('State')}")
        if state.get("Restarts", 0) != int(restarts):
            problems.append(f"the task was restarted {state.get('Restarts', 0)} time(s), expected {restarts}")
        now = _task_jvms(alloc["ID"], name)
        if now != [int(pid)]:
            problems.append(f"its JVM is now {', '.join(map(str, now)) or 'gone'}, not the same pid {pid}")
        if problems:
            raise AssertionError(
                f"Task '{name}' was not recovered after {crash}: " + "; ".join(problems) + ".\n" + _events(state, since)
            )
        try:
            seen = logs.read_log(client, alloc["ID"], name)
            logs.follow_log(client, alloc["ID"], name, "stdout", _LogGrowth(len(seen)), deadline, lambda: False)
        except logs.LogWaitError as error:
            raise AssertionError(f"Task '{name}' was recovered after {crash} but its stdout {error}.") from None
        _log_recovery_timing(name, line, disruption)
        logger.info(
            f"Task '{name}' recovered after {crash}: running, {restarts} restart(s), JVM pid {pid}, output flowing."
        )

    # -- leaks -----------------------------------------------------------------------------------

    @keyword
    def take_resource_snapshot(self, agent: str | None = None) -> dict:
        """Returns what the tasks of the agent (of every agent when none is named) hold on the host.

        The result maps each category to a sorted list of readable items, each prefixed
        with the agent's name:

        | = Category = | = What =                                                        |
        | processes    | driver monitors, JVMs, logmons, orphaned plugins, other processes |
        | containers   | containers crun lists in the driver's crun root                 |
        | bundles      | bundle dirs in the driver's state dir                           |
        | mounts       | mounts under the agent's run dir and the driver's state dir     |
        | cgroups      | cgroups below the driver's cgroup parent, in every hierarchy    |
        | alloc_dirs   | allocation dirs in the agent's data dir                         |

        Processes counted are those in the agent's process tree, those using its run or
        state dir (command line or working dir), and those in a cgroup below the driver's
        cgroup parent; the agent itself and its current driver plugin are not.

        The snapshot also records where it looked (``scopes``), so that `Resources Should
        Not Have Leaked` looks at the same places later, even after the agent was restarted
        or stopped.

        Example:
        | ${before} = | `Take Resource Snapshot` | |
        | Should Be Empty | ${before}[containers] | |
        """
        targets = _agents(agent)
        snapshot = leaks.take_snapshot(leaks.scopes_of(targets), _agent_pids())
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
        """Fails when the tasks hold anything that was not held in ``before`` (anything at all without it).

        Looks where ``before`` looked (see `Take Resource Snapshot`), or at ``agent``,
        or at every agent. Cleanup after a task stops is asynchronous, so this waits up
        to ``timeout`` for the leftovers to go; with ``collect_garbage`` it first asks each
        live client to garbage-collect its terminal allocations, which is when Nomad
        removes their dirs and mounts. The failure lists every item left, by category.

        Example:
        | ${before} = | `Take Resource Snapshot` | |
        | Stop Job | ${job} | |
        | `Resources Should Not Have Leaked` | ${before} | |
        | `Resources Should Not Have Leaked` | agent=client-1 | timeout=1 min |
        """
        # A snapshot taken before says where to look, unless an agent is named.
        scopes = leaks.scopes_of(_agents(agent)) if agent or before is None else leaks.scopes_of([], before)
        names = {scope.agent for scope in scopes}
        if collect_garbage:
            _collect_garbage(agent for agent in REGISTRY.agents() if agent.name in names)
        deadline = Deadline(timeout)
        while True:
            after = leaks.take_snapshot(scopes, _agent_pids())
            left = leaks.leaked(before, after)
            if not leaks.count(left):
                logger.info(f"Nothing leaked in {', '.join(sorted(names)) or 'no agent'}.")
                return
            if deadline.expired:
                raise AssertionError(
                    f"Resources leaked ({leaks.count(left)} item(s) still held {deadline} after the check began):\n"
                    + leaks.describe(left)
                )
            time.sleep(LEAK_POLL_SECONDS)

    # -- whole runs (used by the isolation suites) -----------------------------------------------

    @keyword
    def run_root_should_be_clean(self, run_root: str) -> None:
        """Fails when anything of the agents run under ``run_root`` is left: processes, containers, mounts, dirs.

        Example:
        | `Run Root Should Be Clean` | ${run_root} |
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
        """Fails unless a ``nomad agent`` process runs with its config under ``run_root``.

        Example:
        | `Run Root Should Hold A Live Agent` | ${run_root} |
        """
        agents = [p for p in processes.processes_using(Path(run_root)) if "agent" in p.cmdline()[1:2]]
        if not agents:
            raise AssertionError(f"No live Nomad agent runs under {run_root}.")

    @keyword
    def sweep_dead_runs(self, run_root: str) -> list[str]:
        """Cleans up after robot processes that died under ``run_root`` (their state files name them).

        Returns what was swept. ``Start Nomad Server`` does this by itself for its own run root.

        Example:
        | ${swept} = | `Sweep Dead Runs` | ${run_root} |
        """
        swept = sweep.sweep(Path(run_root))
        logger.info("Swept:\n" + ("\n".join(swept) or "(nothing)"))
        return swept

    @keyword
    def agent_should_have_left_nothing_behind(self, info: dict) -> None:
        """Fails when a stopped agent (``info`` from ``Get Nomad Agent Info``) left anything on the host.

        Checks its process, its run dir, mounts and processes naming it, containers
        in its crun root, cgroups under its cgroup parent, and its ports.

        Example:
        | ${info} = | Get Nomad Agent Info | |
        | Stop Nomad Server | | |
        | `Agent Should Have Left Nothing Behind` | ${info} | |
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
        ports = [int(info[key]) for key in ("http_port", "rpc_port", "serf_port")]
        problems += [f"port {port} still bound" for port in busy_ports(ports)]
        if problems:
            raise AssertionError(f"Agent '{info['name']}' left behind:\n" + "\n".join(problems))


# -- helpers -------------------------------------------------------------------------------------


def _agents(name: str | None) -> list[Agent]:
    return [REGISTRY.find(name)] if name else REGISTRY.agents()


def _agent_pids() -> dict[str, int | None]:
    return {agent.name: agent.pid if agent.is_running else None for agent in REGISTRY.agents()}


def _plugin_binary(agent: Agent) -> str:
    return f"nomad-driver-{agent.driver}"


def _signal(name: str) -> signals.Signals:
    text = str(name).upper()
    try:
        return signals.Signals[text if text.startswith("SIG") else f"SIG{text}"]
    except KeyError:
        raise ValueError(f"Unknown signal '{name}': use a name such as SIGKILL or SIGTERM.") from None


def _plugin_processes(agent: Agent, binary: str) -> list[psutil.Process]:
    """The agent's children running ``binary``, without the driver's monitors."""
    if not agent.is_running:
        return []
    try:
        children = psutil.Process(agent.pid).children()
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            argv = child.cmdline()
            zombie = child.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            continue
        if argv and not zombie and Path(argv[0]).name == binary and argv[1:2] != ["monitor"]:
            found.append(child)
    return found


def _wait_gone(process: psutil.Process, deadline: Deadline) -> None:
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
            described = f"{process.status()}: {' '.join(process.cmdline())[:160]}"
        except psutil.NoSuchProcess:
            return
        if deadline.expired:
            raise AssertionError(f"Process {process.pid} is still running after {deadline} ({described}).")
        time.sleep(PROCESS_POLL_SECONDS)


def _task_jvms(alloc_id: str, task: str) -> list[int]:
    wanted = {"NOMAD_ALLOC_ID": alloc_id, "NOMAD_TASK_NAME": task}
    found = []
    for process in psutil.process_iter(["name", "status"]):
        try:
            if process.info["name"] != "java" or process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            environ = process.environ()
        except psutil.Error:
            continue
        if all(environ.get(key) == value for key, value in wanted.items()):
            found.append(process.pid)
    return sorted(found)


def _node_id(agent: Agent) -> str:
    for node in agent.client.get("/v1/nodes") or []:
        if node["Name"] == agent.name:
            return node["ID"]
    raise AssertionError(f"Nomad agent '{agent.name}' has no registered node.")


def _wait_driver_healthy(agent: Agent, since: float, deadline: Deadline) -> None:
    """Until the servers' view of the node has the driver detected and healthy, fingerprinted after ``since``."""
    node_id = _node_id(agent)
    index = 0
    last = "not seen yet"
    while True:
        try:
            answer = agent.client.blocking_get(f"/v1/node/{node_id}", index, deadline.block_for())
        except (requests.RequestException, NomadAPIError) as error:
            last = f"node not readable: {error}"
            answer = None
            time.sleep(LOG_POLL_SECONDS)
        if answer is not None:
            index = answer.index
            info = (answer.data.get("Drivers") or {}).get(agent.driver) or {}
            updated = info.get("UpdateTime") or "1970-01-01T00:00:00Z"
            if info.get("Detected") and info.get("Healthy") and agentlib.parse_time(updated) >= since:
                return
            last = (
                f"detected={info.get('Detected')} healthy={info.get('Healthy')} "
                f"({info.get('HealthDescription') or 'no health description'}), fingerprinted {updated}"
            )
        if deadline.expired:
            raise AssertionError(
                f"The node of Nomad agent '{agent.name}' did not report driver '{agent.driver}' healthy in a "
                f"fingerprint taken after the kill within {deadline}; last seen: {last}."
            )


def _last_plugin_kill(agent: Agent) -> Disruption:
    for disruption in reversed(agent.disruptions):
        if disruption.what.startswith("driver plugin"):
            return disruption
    raise AssertionError(f"No driver plugin of Nomad agent '{agent.name}' was killed with 'Kill Driver Plugin'.")


def _read_log_from(agent: Agent, offset: int) -> str:
    try:
        with open(agent.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _log_lines(agent: Agent, offset: int, needles: Iterable[str]) -> list[str]:
    """Complete lines of the agent log past ``offset`` that contain every one of ``needles``."""
    needles = list(needles)
    text = _read_log_from(agent, offset)
    complete = text[: text.rfind("\n") + 1]
    return [line for line in complete.splitlines() if all(needle in line for needle in needles)]


def _line_time(line: str) -> float | None:
    found = _LOG_TIME.match(line)
    return agentlib.parse_time(found.group(1)) if found else None


def _events(state: dict, since: float) -> str:
    events = [event for event in jobs.task_events(state) if event["time"].timestamp() >= since]
    if not events:
        return "No task events since then."
    return "Task events since then:\n" + "\n".join(
        f"  {event['time']:%H:%M:%S.%f} {event['type']}: {event['message']}" for event in events
    )


def _wait_for_recovery_line(
    agent: Agent,
    alloc_id: str,
    task: str,
    recovery_log: str,
    offset: int,
    since: float,
    crash: str,
    deadline: Deadline,
) -> str | None:
    """Wait for the driver's recovery line for the allocation; fail at once on an event showing it was not recovered."""
    index = 0
    state: dict = {}
    while True:
        about = _log_lines(agent, offset, (alloc_id,))
        recovered = [logged for logged in about if recovery_log in logged] if recovery_log else [""]
        failed = [logged for logged in about if any(text in logged for text in NOT_RECOVERED_LOG)]
        try:
            # A short blocking query: returns at once when the allocation changes, else paces the loop.
            answer = agent.client.blocking_get(f"/v1/allocation/{alloc_id}", index, ALLOC_BLOCK_SECONDS)
            index = answer.index
            state = jobs.task_state(answer.data, task) or {}
        except (requests.RequestException, NomadAPIError):
            time.sleep(LOG_POLL_SECONDS)  # the agent is still starting: nothing to block on
        events = [
            event
            for event in jobs.task_events(state)
            if event["time"].timestamp() >= since and event["type"] in NOT_RECOVERED_EVENTS
        ]
        if events or failed or state.get("State") == "dead":
            raise AssertionError(
                f"Task '{task}' was not recovered after {crash}.\n{_events(state, since)}\n"
                + _alloc_log_lines(agent, offset, alloc_id)
            )
        if recovered:
            return recovered[0] or None
        if deadline.expired:
            raise AssertionError(
                f"The log of Nomad agent '{agent.name}' shows no '{recovery_log}' for allocation {alloc_id} "
                f"within {deadline} of {crash}; the task is {state.get('State') or 'unknown'}.\n"
                f"{_events(state, since)}\n" + _alloc_log_lines(agent, offset, alloc_id)
            )


def _alloc_log_lines(agent: Agent, offset: int, alloc_id: str, lines: int = 15) -> str:
    """The agent's log lines about the allocation since ``offset``, at INFO level and above."""
    found = [
        line.strip()
        for line in _log_lines(agent, offset, (alloc_id,))
        if not any(level in line for level in ("[DEBUG]", "[TRACE]"))
    ]
    if not found:
        return f"The agent log has no line about allocation {alloc_id} since then."
    return f"Agent log lines about allocation {jobs.short(alloc_id)} since then (last {lines}):\n" + "\n".join(
        found[-lines:]
    )


def _log_recovery_timing(task: str, line: str | None, disruption: Disruption | None) -> None:
    recovered = _line_time(line) if line else None
    if recovered is None or disruption is None:
        return
    parts = [f"{recovered - disruption.at:.3f} s after {disruption.what}"]
    if disruption.restarted_at is not None:
        parts.append(f"{recovered - disruption.restarted_at:.3f} s after the agent was started again")
    logger.info(f"Timing: the driver recovered task '{task}' " + ", ".join(parts) + ".")


def _collect_garbage(targets: Iterable[Agent]) -> None:
    for target in targets:
        if target.is_client and target.is_running:
            try:
                target.client.put("/v1/client/gc")
            except (requests.RequestException, NomadAPIError) as error:
                logger.info(f"Nomad agent '{target.name}' could not garbage-collect its allocations: {error}")

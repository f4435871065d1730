"""NomadServer: start, inspect and stop real ``nomad agent`` processes for end-to-end tests."""

from __future__ import annotations

import html
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import requests
from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError
from robotlibcore import DynamicCore

from nomadtest import agents as agentlib
from nomadtest import ports as portlib
from nomadtest import processes, sweep
from nomadtest.client import NomadAPIError
from nomadtest.listener import OwnershipListener, current_owner, owned_by
from nomadtest.registry import REGISTRY, Agent

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parents[1]
CRUNJAR = "crunjar"


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


class AgentManager:
    """State and procedures shared by the keyword components: what runs, how it starts and stops."""

    def __init__(
        self,
        nomad_bin: Path,
        plugin_dir: Path,
        driver: str,
        plugin_config: dict[str, Any],
        run_root: Path,
        results_dir: Path | None,
    ) -> None:
        self.nomad_bin = nomad_bin
        self.plugin_dir = plugin_dir
        self.driver = driver
        self.plugin_config = plugin_config
        self.run_root = run_root
        self._results_dir = results_dir
        self.state = sweep.StateFile(run_root)
        self._swept = False
        # Ports handed out recently stay excluded, so a just-stopped agent's ports are not reused at once.
        self._recent_ports: deque[int] = deque(maxlen=300)
        self._crun_paths: dict[str, str | None] = {}
        self.log_copies: dict[str, Path] = {}

    # -- where things are -------------------------------------------------

    @property
    def results_dir(self) -> Path:
        if self._results_dir is None:
            try:
                output_dir = BuiltIn().get_variable_value("${OUTPUT DIR}")
            except RobotNotRunningError:
                output_dir = None
            return Path(output_dir) / "agents" if output_dir else self.run_root / "logs"
        return self._results_dir

    @property
    def worker_dir(self) -> Path:
        """This Robot process's part of the run root; the pid alone keeps pabot workers apart,
        pabot's queue index (a Robot variable, not an environment variable) tells which is which."""
        try:
            index = BuiltIn().get_variable_value("${PABOTQUEUEINDEX}")
        except RobotNotRunningError:
            index = None
        return self.run_root / (f"pabot{index}-{os.getpid()}" if index is not None else str(os.getpid()))

    def log_copy_path(self, agent: Agent) -> Path:
        return self.results_dir / f"{agent.name}-{agent.uid}.log"

    def log_path(self, name: str | Agent | None) -> Path:
        """The live agent's log, or the copy kept of a stopped one."""
        live = {agent.name for agent in REGISTRY.agents()}
        if isinstance(name, str) and name not in live and name in self.log_copies:
            return self.log_copies[name]
        return REGISTRY.find(name).log_path

    # -- starting ---------------------------------------------------------

    def new_name(self, prefix: str) -> str:
        taken = {agent.name for agent in REGISTRY.agents()}
        number = 1
        while f"{prefix}-{number}" in taken:
            number += 1
        return f"{prefix}-{number}"

    def check_free_name(self, name: str) -> None:
        if name in {agent.name for agent in REGISTRY.agents()}:
            raise ValueError(f"A Nomad agent named '{name}' is already running; give the new one another name.")

    def held_ports(self) -> set[int]:
        held = set(self._recent_ports)
        for agent in REGISTRY.agents():
            held.update((agent.http_port, agent.rpc_port, agent.serf_port))
        return held

    def pick_ports(self) -> portlib.AgentPorts:
        picked = portlib.pick_agent_ports(self.held_ports())
        self._recent_ports.extend(picked)
        return picked

    def sweep_once(self) -> None:
        if self._swept:
            return
        self._swept = True
        for line in sweep.sweep(self.run_root):
            logger.info(f"Swept leftovers of an earlier run: {line}")

    def plugins(self, settings: agentlib.AgentSettings, run_dir: Path, uid: str, extra: dict | None) -> dict:
        config: dict[str, Any] = {}
        if settings.driver == "raw_exec":
            config["enabled"] = True
        if settings.driver == CRUNJAR:
            # Per agent, so parallel agents never share containers, bundles or cgroups.
            config["state_dir"] = str(run_dir / CRUNJAR)
            config["cgroup_parent"] = f"{CRUNJAR}-{uid}"
        config.update(self.plugin_config)
        config.update(extra or {})
        return {self.plugin_block_name(settings.driver): config}

    def plugin_block_name(self, driver: str) -> str:
        """Nomad names an external plugin's block after its file in plugin_dir, a built-in one after the driver."""
        for candidate in (f"nomad-driver-{driver}", driver):
            if (self.plugin_dir / candidate).is_file():
                return candidate
        return driver

    def launch(
        self,
        settings: agentlib.AgentSettings,
        agent_ports: portlib.AgentPorts,
        owner: str,
        cluster: str,
        plugin_config: dict | None,
        deadline: float,
    ) -> Agent:
        """Write the configuration, start the process and wait until its API answers."""
        if not os.access(self.nomad_bin, os.X_OK):
            raise RuntimeError(f"Nomad binary {self.nomad_bin} is not executable: build it or set NOMAD_BIN.")
        run_dir = self.worker_dir / settings.name
        if run_dir.exists():
            sweep.cleanup(sweep.AgentRecord(settings.name, str(run_dir)), grace=1)
        (run_dir / "data").mkdir(parents=True)
        uid = f"{os.getpid()}-{secrets.token_hex(3)}"
        plugins = self.plugins(settings, run_dir, uid, plugin_config)
        driver_config = plugins[self.plugin_block_name(settings.driver)]
        text = agentlib.render_config(settings, agent_ports, run_dir, self.plugin_dir, plugins)
        config_path = run_dir / "agent.hcl"
        config_path.write_text(text)
        agent = Agent(
            name=settings.name,
            role=settings.role,
            http_port=agent_ports.http,
            rpc_port=agent_ports.rpc,
            serf_port=agent_ports.serf,
            run_dir=run_dir,
            config_path=config_path,
            log_path=run_dir / "agent.log",
            process=None,
            driver=settings.driver,
            driver_state_dir=Path(driver_config["state_dir"]) if settings.driver == CRUNJAR else None,
            cgroup_parent=str(driver_config.get("cgroup_parent", "")) if settings.driver == CRUNJAR else "",
            owner=owner,
            cluster=cluster,
            uid=uid,
        )
        self._crun_paths[agent.name] = driver_config.get("crun_path") if settings.driver == CRUNJAR else None
        logger.debug(f"Configuration of Nomad agent '{agent.name}' ({config_path}):\n{text}")
        REGISTRY.add(agent)
        self.save_state()
        self.start_process(agent)
        try:
            agentlib.wait_until_listening(agent, deadline)
        except portlib.PortConflictError:
            self.discard(agent)
            raise
        logger.info(f"Started Nomad agent '{agent.name}' ({agent.role}) at {agent.address}, run dir {run_dir}.")
        return agent

    def start_process(self, agent: Agent) -> float:
        """Start (or start again) the agent's process; returns the time it was started."""
        if agent.log_path.exists():
            with open(agent.log_path, "a") as log:
                log.write(f"\n{agentlib.RESTART_MARKER} at {time.strftime('%H:%M:%S')}\n")
        started = time.time()
        argv = [str(self.nomad_bin), "agent", "-config", str(agent.config_path)]
        agent.process = processes.start_process(argv, agent.log_path, agent.run_dir)
        self.save_state()
        return started

    def preferred_ports(self, preferred: dict[str, int]) -> portlib.AgentPorts:
        unknown = set(preferred) - {"http", "rpc", "serf"}
        if unknown:
            raise ValueError(f"Unknown port name(s) {sorted(unknown)}: use http, rpc and serf.")
        picked = self.pick_ports()
        return portlib.AgentPorts(**{**vars(picked), **{name: int(port) for name, port in preferred.items()}})

    def start_with_retry(self, launch: Callable[[portlib.AgentPorts], Agent], first: portlib.AgentPorts | None = None):
        pending = [first] if first else []

        def pick() -> portlib.AgentPorts:
            return pending.pop() if pending else self.pick_ports()

        def on_retry(lost: portlib.AgentPorts, conflict: Exception) -> None:
            logger.info(f"Ports {tuple(lost)} were taken before Nomad could bind them; retrying with new ones.")

        return agentlib.with_port_retry(launch, pick, on_retry=on_retry)

    def wait_ready(self, api: Agent, watched: list[Agent], nodes: dict[str, float], timeout: float) -> None:
        agentlib.wait_until_ready(api, watched, nodes, api.driver, timeout, on_stuck_registration=self.kick)

    def kick(self, agent: Agent) -> None:
        """Restart an agent whose client lost the race with its own server's first keyring."""
        if not (agent.is_server and agent.is_client):
            return
        logger.info(
            f"The client of Nomad agent '{agent.name}' tried to register before its server's keyring "
            "existed and would retry only after 15-30 s; restarting the agent to register now."
        )
        self.stop_process(agent, grace=10)
        self.start_process(agent)
        agentlib.wait_until_listening(agent, time.monotonic() + 30)

    # -- stopping ---------------------------------------------------------

    def stop_process(self, agent: Agent, grace: float) -> None:
        """SIGINT the agent alone (not its tasks or plugins' detached children), SIGKILL after ``grace``."""
        if agent.process is None or agent.process.poll() is not None:
            return
        agent.process.send_signal(signal.SIGINT)
        try:
            agent.process.wait(grace)
        except subprocess.TimeoutExpired:
            agent.process.kill()
            agent.process.wait()

    def discard(self, agent: Agent) -> None:
        """Remove an agent that never became usable (lost a port race) without API calls."""
        sweep.cleanup(sweep.AgentRecord.of(agent, self._crun_paths.get(agent.name)), grace=1)
        REGISTRY.remove(agent)
        self.save_state()

    def stop(self, stopping: list[Agent], grace: float, timeout: float) -> list[str]:
        """Stop ``stopping``: purge jobs where a whole cluster goes, then clients, then servers."""
        problems: list[str] = []
        names = {agent.name for agent in stopping}
        for cluster in dict.fromkeys(agent.cluster for agent in stopping):
            members = [agent for agent in REGISTRY.agents() if agent.cluster == cluster]
            live_servers = [agent for agent in members if agent.is_server and agent.is_running]
            if live_servers and all(agent.name in names for agent in live_servers):
                self.purge(live_servers[0], members, timeout)
        for agent in sorted(stopping, key=lambda agent: agent.is_server):
            # One agent's failure must not leave the others running.
            try:
                problems += [f"{agent.name}: {problem}" for problem in self.stop_one(agent, grace)]
            except Exception as error:
                problems.append(f"{agent.name}: cleanup failed: {error}")
        return problems

    def purge(self, server: Agent, members: list[Agent], timeout: float) -> None:
        live_clients = [agent.name for agent in members if agent.is_client and agent.is_running]
        try:
            node_ids = agentlib.node_ids(server.client, live_clients) if live_clients else set()
            pending = agentlib.purge_jobs(server.client, node_ids, timeout)
        except (requests.RequestException, NomadAPIError) as error:
            logger.warn(f"Could not purge the jobs of Nomad agent '{server.name}' before stopping it: {error}")
            return
        if pending:
            logger.warn(
                f"Allocations still not terminal {timeout:g} s after their jobs were stopped: {', '.join(pending)}. "
                "Their processes and containers are killed with the agent."
            )

    def stop_one(self, agent: Agent, grace: float) -> list[str]:
        record = sweep.AgentRecord.of(agent, self._crun_paths.pop(agent.name, None))
        copy = self.log_copy_path(agent)
        problems = sweep.cleanup(record, grace, keep_log=copy)
        sweep.remove_if_empty(agent.run_dir.parent)
        agent.client.close()
        REGISTRY.remove(agent)
        self.save_state()
        if copy.exists():
            self.log_copies[agent.name] = copy
        problems += self.ports_still_taken(record.ports)
        logger.info(f"Stopped Nomad agent '{agent.name}'; its log is kept at {self.link(copy)}.", html=True)
        return problems

    @staticmethod
    def ports_still_taken(agent_ports: list[int], wait: float = 5.0) -> list[str]:
        deadline = time.monotonic() + wait
        while True:
            busy = portlib.busy_ports(agent_ports)
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        holders = {}
        if busy:
            for connection in psutil.net_connections(kind="inet"):
                if connection.laddr and connection.laddr.port in busy and connection.pid:
                    holders[connection.laddr.port] = connection.pid
        return [f"port {port} is still in use (pid {holders.get(port, 'unknown')})" for port in busy]

    def release(self, owner: str | None) -> tuple[list[str], list[str]]:
        """Stop what ``owner`` (None: anybody) still has; for the listener."""
        left = [agent for agent in REGISTRY.agents() if owner is None or owned_by(owner, agent.owner)]
        if not left:
            return [], []
        return [agent.name for agent in left], self.stop(left, grace=10, timeout=30)

    def save_state(self) -> None:
        records = [sweep.AgentRecord.of(agent, self._crun_paths.get(agent.name)) for agent in REGISTRY.agents()]
        self.state.write(records)

    def link(self, path: Path) -> str:
        try:
            target = os.path.relpath(path, BuiltIn().get_variable_value("${OUTPUT DIR}"))
        except (RobotNotRunningError, TypeError, ValueError):
            target = str(path)
        return f'<a href="{html.escape(target)}">{html.escape(path.name)}</a>'


class _Component:
    def __init__(self, manager: AgentManager) -> None:
        self.manager = manager


class Lifecycle(_Component):
    """Keywords that start, restart, kill and stop agents."""

    @keyword
    def start_nomad_server(
        self,
        name: str | None = None,
        server: bool = True,
        client: bool = True,
        timeout: timedelta = timedelta(seconds=60),
        servers: list[str] | None = None,
        plugin_config: dict[str, Any] | None = None,
        extra_hcl: str = "",
        config: dict[str, Any] | None = None,
        ports: dict[str, int] | None = None,
        **overrides: Any,
    ) -> str:
        """Starts one ``nomad agent``, by default a server and client in one process, and waits until it is ready.

        Ready means: a leader is elected and, when the agent runs a client, its node
        is ``ready`` with the driver under test detected and healthy. The agent gets
        free loopback ports, its own run directory and data dir, and a configuration
        rendered from ``templates/agent.hcl.j2`` (shown in the log at DEBUG level).

        - ``name``: agent and node name; default ``nomad-1``, ``nomad-2``, ...
        - ``server`` and ``client``: which parts of Nomad the agent runs.
        - ``timeout``: how long to wait for readiness; on timeout the error tells the
          node status, the driver's health description and the last agent log lines.
        - ``servers``: names (or ``host:port`` addresses) of running server agents to join:
          a client uses their RPC addresses, a server joins their Serf addresses.
        - ``plugin_config``: driver plugin settings merged over the library's.
        - ``extra_hcl``: raw HCL appended to the configuration.
        - ``ports``: preferred ports for the first attempt, e.g. ``${{ {'http': 4646} }}``; the
          others are picked free. When one is taken, Nomad fails to bind it, and the agent is
          started again on new free ports (up to 3 attempts), as after any port race.
        - ``config`` and ``**overrides``: configuration settings such as ``datacenter``,
          ``region``, ``log_level``, ``node_class``, ``meta`` (dict), ``client_options`` (dict);
          in ``config``, ``server`` and ``client`` dicts are merged into those blocks (as
          arguments, ``server`` and ``client`` are the switches above); other names become
          top-level attributes. Give non-string values as ``${True}`` or ``${{ {...} }}``.

        The agent belongs to the running test, or to the suite when started in a suite
        setup, and is stopped when its owner ends even if no teardown stops it.
        Returns the agent name, which other keywords accept as ``agent``.

        Example:
        | ${agent} = | `Start Nomad Server` | | |
        | `Start Nomad Server` | name=edge | datacenter=dc2 | meta=${{ {'rack': 'r1'} }} |
        | `Start Nomad Server` | name=worker | server=${False} | servers=${{ ['nomad-1'] }} |
        | `Start Nomad Server` | config=${{ {'client': {'gc_max_allocs': 10}} }} | | |
        """
        if not (server or client):
            raise ValueError("An agent must run a server, a client or both.")
        manager = self.manager
        manager.sweep_once()
        name = name or manager.new_name("nomad")
        manager.check_free_name(name)
        joined = [REGISTRY.find(entry) for entry in servers or [] if ":" not in entry]
        addresses = [entry for entry in servers or [] if ":" in entry]
        settings = agentlib.AgentSettings(name=name, server=server, client=client, driver=manager.driver)
        if server:
            settings.server_join = [f"127.0.0.1:{agent.serf_port}" for agent in joined] + addresses
            # Joining an existing cluster: do not bootstrap a second one.
            settings.bootstrap_expect = 0 if settings.server_join else 1
        else:
            settings.client_servers = [f"127.0.0.1:{agent.rpc_port}" for agent in joined] + addresses
        settings.extra_hcl = extra_hcl
        settings.apply_overrides({**(config or {}), **overrides})
        cluster = joined[0].cluster if joined else name
        deadline = time.monotonic() + _seconds(timeout)
        started = time.time()
        agent = manager.start_with_retry(
            lambda picked: manager.launch(settings, picked, current_owner(), cluster, plugin_config, deadline),
            manager.preferred_ports(ports) if ports else None,
        )
        nodes = {agent.name: started} if client else {}
        manager.wait_ready(agent, [agent], nodes, max(deadline - time.monotonic(), 0.1))
        if agent.is_server and agent.is_client:
            try:
                agentlib.persist_raft_snapshot(agent.client)
            except (requests.RequestException, NomadAPIError) as error:
                logger.warn(f"No raft snapshot of '{agent.name}': a restart of it may take 15-30 s more. {error}")
        logger.info(f"Nomad agent '{agent.name}' is ready after {time.time() - started:.1f} s.")
        return agent.name

    @keyword
    def start_nomad_cluster(
        self,
        servers: int = 3,
        clients: int = 1,
        name: str = "",
        timeout: timedelta = timedelta(seconds=120),
        plugin_config: dict[str, Any] | None = None,
        extra_hcl: str = "",
        config: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> list[str]:
        """Starts ``servers`` server agents and ``clients`` client agents as one cluster and waits until it is ready.

        The servers expect each other (``bootstrap_expect``) and join through their
        Serf addresses; the clients know the servers' RPC addresses. Agents are named
        ``server-1``... and ``client-1``..., prefixed by ``name-`` when ``name`` is given
        (needed to run two clusters at once). Ready means a leader is elected and every
        client node is ``ready`` with a healthy driver. Other arguments are as in
        `Start Nomad Server` and apply to every agent.

        Returns the names, servers first.

        Example:
        | ${names} = | `Start Nomad Cluster` | servers=3 | clients=2 |
        | `Stop Nomad Server` | client-2 | | |
        """
        manager = self.manager
        manager.sweep_once()
        prefix = f"{name}-" if name else ""
        cluster = name or manager.new_name("cluster")
        server_names = [f"{prefix}server-{number}" for number in range(1, servers + 1)]
        client_names = [f"{prefix}client-{number}" for number in range(1, clients + 1)]
        for agent_name in server_names + client_names:
            manager.check_free_name(agent_name)
        deadline = time.monotonic() + _seconds(timeout)
        owner = current_owner()
        overrides = {**(config or {}), **overrides}

        def launch(settings: agentlib.AgentSettings, first: portlib.AgentPorts | None = None) -> Agent:
            settings.extra_hcl = extra_hcl
            settings.apply_overrides(overrides)
            return manager.start_with_retry(
                lambda picked: manager.launch(settings, picked, owner, cluster, plugin_config, deadline), first
            )

        server_ports = [manager.pick_ports() for _ in server_names]
        server_agents = []
        for agent_name, own in zip(server_names, server_ports, strict=True):
            join = [f"127.0.0.1:{other.serf}" for other in server_ports if other is not own]
            settings = agentlib.AgentSettings(
                name=agent_name, client=False, driver=manager.driver, bootstrap_expect=servers, server_join=join
            )
            server_agents.append(launch(settings, own))
        # Clients that register before the keyring exists retry only after 15-30 s: let the servers settle first.
        manager.wait_ready(server_agents[0], server_agents, {}, max(deadline - time.monotonic(), 0.1))
        _wait_for_keyring(server_agents, deadline)
        rpc = [f"127.0.0.1:{agent.rpc_port}" for agent in server_agents]
        started = time.time()
        client_agents = [
            launch(agentlib.AgentSettings(name=agent_name, server=False, driver=manager.driver, client_servers=rpc))
            for agent_name in client_names
        ]
        nodes = dict.fromkeys(client_names, started)
        watched = server_agents + client_agents
        manager.wait_ready(server_agents[0], watched, nodes, max(deadline - time.monotonic(), 0.1))
        logger.info(f"Nomad cluster '{cluster}' ({servers} servers, {clients} clients) is ready.")
        return server_names + client_names

    @keyword
    def stop_nomad_server(
        self,
        agent: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        """Stops an agent and removes every trace of it: processes, containers, mounts, cgroups, files.

        When the last running server of the agent's cluster stops, its jobs are first
        stopped and purged and their allocations awaited (up to ``timeout``) so that
        the driver destroys its tasks the normal way. Then the agent gets SIGINT and
        ``grace`` to exit, after which its whole process tree and every process using
        its run directory (executors, driver monitors) are killed. Containers under
        the driver's crun root are killed and deleted, mounts under the run directory
        unmounted, the driver's cgroups removed, the agent log copied into the results
        and the run directory deleted. Fails if any of that, or a port, is left.
        Works as well on an agent that already died.

        ``agent`` defaults to the most recently started one.

        Example:
        | `Stop Nomad Server` | | |
        | `Stop Nomad Server` | server-2 | grace=2s |
        """
        problems = self.manager.stop([REGISTRY.find(agent)], _seconds(grace), _seconds(timeout))
        if problems:
            raise AssertionError("Stopping left things behind:\n" + "\n".join(problems))

    @keyword
    def stop_all_nomad_servers(
        self, grace: timedelta = timedelta(seconds=10), timeout: timedelta = timedelta(seconds=30)
    ) -> None:
        """Stops every agent this library started, whoever owns it, as `Stop Nomad Server` does.

        Example:
        | [Teardown] | `Stop All Nomad Servers` |
        """
        problems = self.manager.stop(REGISTRY.agents(), _seconds(grace), _seconds(timeout))
        if problems:
            raise AssertionError("Stopping left things behind:\n" + "\n".join(problems))

    @keyword
    def restart_nomad_agent(
        self,
        agent: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        """Stops the agent process gracefully and starts it again with the same configuration, data and ports.

        Nothing else is touched: jobs stay registered and running tasks keep running,
        so the client must recover them from its state, as after an upgrade. The agent
        gets SIGINT and ``grace`` to exit (then SIGKILL, for the agent process only).
        Waits as `Start Nomad Server` does, counting only a driver fingerprint taken
        after the restart. Also brings back an agent stopped by `Kill Nomad Agent`.
        For a crash and restart in one step, see `Restart Nomad Client`.

        Example:
        | `Restart Nomad Agent` | | |
        | `Restart Nomad Agent` | client-1 | timeout=90s |
        """
        target = REGISTRY.find(agent)
        if target.is_running:
            target.record_disruption("agent restart (SIGINT)", target.pid)
            self.manager.stop_process(target, _seconds(grace))
        self._start_again(target, timeout)

    @keyword
    def restart_nomad_client(self, agent: str | None = None, timeout: timedelta = timedelta(seconds=60)) -> None:
        """Crashes a client agent with SIGKILL and starts it again at once with the same configuration, data and ports.

        This is the realistic crash of a Nomad client: the agent gets no chance to
        clean up, its tasks, their monitors and containers keep running, and the new
        process must restore every allocation from the client state in its data dir and
        have the driver recover each task. Waits as `Start Nomad Server` does: the node
        is ``ready`` with the driver healthy in a fingerprint taken after the restart.
        Use `Task Should Have Been Recovered` next to check the tasks; it measures the
        time from this restart to the driver's recovery of the task.

        An agent that also runs a server restarts its server too. An agent that is not
        running (after `Kill Nomad Agent`) is only started.

        Example:
        | `Restart Nomad Client` | | |
        | `Restart Nomad Client` | client-1 | timeout=90s |
        """
        target = REGISTRY.find(agent)
        if not target.is_client:
            raise AssertionError(f"Nomad agent '{target.name}' runs no client: use 'Restart Nomad Agent'.")
        if target.is_running:
            self._kill(target)
        self._start_again(target, timeout)

    @keyword
    def kill_nomad_agent(self, agent: str | None = None) -> None:
        """Kills the agent process with SIGKILL, as in a crash, and nothing else.

        Its data directory stays, and so do the processes it started in sessions of
        their own (executors, driver monitors) and the containers. An external driver
        plugin outlives it unless the plugin watches its parent (crunjar exits when it
        sees its agent gone). Use `Restart Nomad Agent` to bring the agent back, or
        `Stop Nomad Server` to clean up. `Restart Nomad Client` kills and restarts in one step.

        Example:
        | `Kill Nomad Agent` | client-1 |
        | `Restart Nomad Agent` | client-1 |
        """
        target = REGISTRY.find(agent)
        if not target.is_running:
            raise AssertionError(f"Nomad agent '{target.name}' is not running.")
        self._kill(target)

    def _kill(self, target: Agent) -> None:
        target.record_disruption("agent SIGKILL", target.pid)
        target.process.kill()
        target.process.wait()
        self.manager.save_state()
        logger.info(f"Killed Nomad agent '{target.name}' (pid {target.pid}) with SIGKILL.")

    def _start_again(self, target: Agent, timeout: timedelta) -> None:
        busy = portlib.busy_ports([target.http_port, target.rpc_port, target.serf_port])
        if busy:
            raise AssertionError(f"Cannot restart '{target.name}': its ports {busy} are taken by another process.")
        deadline = time.monotonic() + _seconds(timeout)
        started = self.manager.start_process(target)
        if target.last_disruption is not None and target.last_disruption.restarted_at is None:
            target.last_disruption.restarted_at = started
        agentlib.wait_until_listening(target, deadline)
        api = target if target.is_server else _cluster_server(target) or target
        nodes = {target.name: started} if target.is_client else {}
        self.manager.wait_ready(api, [target], nodes, max(deadline - time.monotonic(), 0.1))
        logger.info(f"Nomad agent '{target.name}' is ready again after {time.time() - started:.2f} s.")


class Inspection(_Component):
    """Keywords that read an agent's address, node, driver and log."""

    @keyword
    def get_nomad_address(self, agent: str | None = None) -> str:
        """Returns the HTTP API address of the agent, like ``http://127.0.0.1:23456``.

        Example:
        | ${address} = | `Get Nomad Address` | |
        | Set Environment Variable | NOMAD_ADDR | ${address} |
        """
        return REGISTRY.find(agent).address

    @keyword
    def get_nomad_agent_info(self, agent: str | None = None) -> dict[str, Any]:
        """Returns what the library knows of the agent, for checks on the host.

        Keys: ``name``, ``role``, ``running`` (whether its process is alive), ``pid``,
        ``create_time``, ``address``, ``http_port``, ``rpc_port``, ``serf_port``, ``run_dir``,
        ``config_path``, ``log_path``, ``driver``, ``plugin_dir``, ``driver_state_dir`` and
        ``cgroup_parent`` (empty for drivers other than crunjar).

        Example:
        | ${info} = | `Get Nomad Agent Info` | |
        | Directory Should Exist | ${info}[run_dir] | |
        """
        target = REGISTRY.find(agent)
        return {
            "name": target.name,
            "role": target.role,
            "running": target.is_running,
            "pid": target.pid,
            "create_time": processes.process_create_time(target.pid) if target.pid else None,
            "address": target.address,
            "http_port": target.http_port,
            "rpc_port": target.rpc_port,
            "serf_port": target.serf_port,
            "run_dir": str(target.run_dir),
            "config_path": str(target.config_path),
            "log_path": str(target.log_path),
            "driver": target.driver,
            "plugin_dir": str(self.manager.plugin_dir),
            "driver_state_dir": str(target.driver_state_dir or ""),
            "cgroup_parent": target.cgroup_parent,
        }

    @keyword
    def get_nomad_node(self, agent: str | None = None) -> dict[str, Any]:
        """Returns the node of a client agent as Nomad's ``/v1/node/<id>`` describes it.

        Example:
        | ${node} = | `Get Nomad Node` | |
        | Should Be Equal | ${node}[Status] | ready |
        """
        target = REGISTRY.find(agent)
        return target.client.get(f"/v1/node/{self.get_node_id(target.name)}")

    @keyword
    def get_node_id(self, agent: str | None = None) -> str:
        """Returns the node ID of a client agent.

        Example:
        | ${id} = | `Get Node Id` | client-1 |
        """
        target = REGISTRY.find(agent)
        if not target.is_client:
            raise AssertionError(f"Nomad agent '{target.name}' runs no client, so it has no node.")
        for node in target.client.get("/v1/nodes") or []:
            if node["Name"] == target.name:
                return node["ID"]
        raise AssertionError(f"Nomad agent '{target.name}' has not registered its node.")

    @keyword
    def get_driver_info(self, driver: str | None = None, agent: str | None = None) -> dict[str, Any]:
        """Returns what the node reports of a driver: ``Detected``, ``Healthy``, ``HealthDescription``,
        ``Attributes`` and ``UpdateTime``. ``driver`` defaults to the driver under test.

        Example:
        | ${info} = | `Get Driver Info` | |
        | Log | ${info}[Attributes] | |
        """
        target = REGISTRY.find(agent)
        driver = driver or target.driver
        drivers = self.get_nomad_node(target.name).get("Drivers") or {}
        if driver not in drivers:
            raise AssertionError(
                f"Driver '{driver}' is unknown to node '{target.name}' (known: {', '.join(sorted(drivers))}); "
                f"is its plugin in {self.manager.plugin_dir}?"
            )
        return drivers[driver]

    @keyword
    def driver_should_be_healthy(self, driver: str | None = None, agent: str | None = None) -> None:
        """Fails unless the driver is detected and healthy on the agent's node, with Nomad's health description.

        Example:
        | `Driver Should Be Healthy` | | |
        | `Driver Should Be Healthy` | raw_exec | client-1 |
        """
        info = self.get_driver_info(driver, agent)
        if not (info.get("Detected") and info.get("Healthy")):
            raise AssertionError(
                f"Driver '{driver or REGISTRY.find(agent).driver}' is not healthy: detected={info.get('Detected')} "
                f"healthy={info.get('Healthy')}: {info.get('HealthDescription') or '(no health description)'}"
            )

    @keyword
    def get_nomad_agent_log(self, agent: str | None = None, lines: int | None = None) -> str:
        """Returns the agent's log (stdout and stderr), or its last ``lines`` lines.

        Works for a stopped agent too, from the copy kept in the results.

        Example:
        | ${log} = | `Get Nomad Agent Log` | lines=50 |
        """
        return agentlib.log_tail(self.manager.log_path(agent), lines)

    @keyword
    def nomad_agent_log_should_contain(self, text: str, agent: str | None = None) -> None:
        """Fails unless the agent's log contains ``text``; the failure shows the last log lines.

        Example:
        | `Nomad Agent Log Should Contain` | plugin started |
        """
        path = self.manager.log_path(agent)
        if text not in agentlib.log_tail(path, None):
            raise AssertionError(f"Log {path} does not contain '{text}'. Last lines:\n{agentlib.log_tail(path)}")

    @keyword
    def wait_until_nomad_agent_log_contains(
        self, text: str, agent: str | None = None, timeout: timedelta = timedelta(seconds=30)
    ) -> None:
        """Waits until the agent's log contains ``text``; on timeout fails with the last log lines.

        Example:
        | `Wait Until Nomad Agent Log Contains` | node registration complete | timeout=20s |
        """
        path = self.manager.log_path(agent)
        deadline = time.monotonic() + _seconds(timeout)
        offset, carry = 0, ""
        while True:
            try:
                with open(path, errors="replace") as log:
                    log.seek(offset)
                    chunk = log.read()
                    offset = log.tell()
            except OSError:
                chunk = ""
            # Keep a tail of the previous chunk so text split across two reads is still found.
            window = carry + chunk
            if text in window:
                return
            carry = window[-len(text) :]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Log {path} did not contain '{text}' within {timeout}. Last lines:\n{agentlib.log_tail(path)}"
                )
            time.sleep(0.1)

    @keyword
    def capture_nomad_forensics(self, agent: str | None = None, lines: int = 50, level: str = "INFO") -> None:
        """Writes the tail of agent logs into the log file and links a full copy kept in the results.

        Without ``agent``, every running agent is captured. Meant for teardowns of failed
        tests, e.g. ``Run Keyword If Test Failed    Capture Nomad Forensics``.

        Example:
        | `Capture Nomad Forensics` | | |
        | `Capture Nomad Forensics` | client-1 | lines=200 |
        """
        targets = [REGISTRY.find(agent)] if agent else REGISTRY.agents()
        for target in targets:
            copy = self.manager.log_copy_path(target)
            copy.parent.mkdir(parents=True, exist_ok=True)
            if target.log_path.exists():
                shutil.copyfile(target.log_path, copy)
            state = "running" if target.is_running else "not running"
            tail = html.escape(agentlib.log_tail(target.log_path, lines))
            logger.write(
                f"Nomad agent '{target.name}' ({target.role}, {state}, {target.address}); "
                f"full log: {self.manager.link(copy)}<br>Last {lines} lines:<pre>{tail}</pre>",
                level=level,
                html=True,
            )


def _cluster_server(agent: Agent) -> Agent | None:
    for other in REGISTRY.agents():
        if other.cluster == agent.cluster and other.is_server and other.is_running:
            return other
    return None


def _wait_for_keyring(servers: list[Agent], deadline: float) -> None:
    pause = 0.05
    while not agentlib.keyring_active(servers[0].client):
        agentlib.check_alive(servers)
        if time.monotonic() > deadline:
            raise agentlib.AgentNotReadyError("The Nomad servers elected a leader but created no keyring in time.")
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


class NomadServer(DynamicCore):
    """Starts and stops real ``nomad agent`` processes for end-to-end tests of task drivers.

    Each agent runs in its own session with its own run directory
    ``<run_root>/<worker>/<agent>`` (configuration, data dir, ``agent.log``), free
    loopback ports and, for the ``crunjar`` driver, its own ``state_dir`` and
    ``cgroup_parent``. Nothing leaves the machine: agents bind 127.0.0.1, the update
    check and cloud fingerprinters are off, and there is no Consul or Vault.

    = Ownership and cleanup =

    An agent belongs to the test that started it, or to the suite when it was
    started in a suite setup or teardown. When its owner ends, a library listener
    stops whatever is still running. Each Robot process records its agents in
    ``<run_root>/state/<pid>.json``; the first start in a later run cleans up after
    processes that died without stopping theirs (pabot kills, double Ctrl-C).

    = Other libraries =

    Keywords take ``agent`` as the name returned by `Start Nomad Server`; without it
    they use the most recently started agent. Python libraries reach the same agents
    through ``nomadtest.registry.REGISTRY`` (``REGISTRY.find(name)``,
    ``REGISTRY.client(name)``).

    = Example =

    A test, with the library imported as ``Library    NomadServer    driver=raw_exec``:

    | Driver Is Healthy
    |     `Start Nomad Server`
    |     `Driver Should Be Healthy`
    |     [Teardown]    `Stop Nomad Server`
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__

    def __init__(
        self,
        nomad_bin: str | None = None,
        plugin_dir: str | None = None,
        driver: str | None = None,
        plugin_config: dict[str, Any] | None = None,
        run_root: str | None = None,
        results_dir: str | None = None,
    ) -> None:
        """All arguments are optional and default to environment variables, so that
        users point the library at their own binaries without editing suites:

        | = Argument = | = Environment = | = Default = |
        | nomad_bin | NOMAD_BIN | ``<repo>/bin/nomad`` |
        | plugin_dir | NOMAD_PLUGIN_DIR | ``<repo>/bin/plugins`` |
        | driver | NOMAD_DRIVER | ``crunjar`` |
        | run_root | NOMAD_E2E_RUN_ROOT | ``/tmp/nomad-e2e`` |
        | results_dir | | ``${OUTPUT DIR}/agents`` |

        ``plugin_config`` is the driver plugin's ``config`` block, written as HCL;
        keyword-level ``plugin_config`` arguments merge over it.

        Example:
        | Library | NomadServer | driver=raw_exec |
        | Library | NomadServer | driver=crunjar | plugin_config=${{ {'default_java_version': '17'} }} |
        """
        env = os.environ
        self.manager = AgentManager(
            nomad_bin=Path(nomad_bin or env.get("NOMAD_BIN") or REPO_ROOT / "bin" / "nomad"),
            plugin_dir=Path(plugin_dir or env.get("NOMAD_PLUGIN_DIR") or REPO_ROOT / "bin" / "plugins"),
            driver=driver or env.get("NOMAD_DRIVER") or CRUNJAR,
            plugin_config=dict(plugin_config or {}),
            run_root=Path(run_root or env.get("NOMAD_E2E_RUN_ROOT") or "/tmp/nomad-e2e"),
            results_dir=Path(results_dir) if results_dir else None,
        )
        self.ROBOT_LIBRARY_LISTENER = OwnershipListener(self.manager.release)
        super().__init__([Lifecycle(self.manager), Inspection(self.manager)])

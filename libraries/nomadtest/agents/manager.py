"""What NomadServer's keywords share: the agents' binaries and settings, and how agents start and stop.

Robot Framework appears here only for logging and for reading ``${OUTPUT DIR}``; everything
else is plain Python, tested without a Robot run.
"""

from __future__ import annotations

import contextlib
import html
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from nomadtest import failures, profiles, versions
from nomadtest.agents import agentlog, configuration, external, nodes, readiness, sessions
from nomadtest.api.client import NomadAPIError, NomadClient
from nomadtest.host import netns, processes, runroot, sweep
from nomadtest.host import ports as portlib
from nomadtest.jobs import removal
from nomadtest.listener import owned_by
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, Done, Pending, poll

CRUNJAR = "crunjar"
# What a failed test gets from this module in log.html (see nomadtest.failures).
FORENSICS_CAPTURE = "agent logs"
# How long `nomad version` may take to prove a binary is Nomad.
VERSION_TIMEOUT = 10


class AgentStartError(AssertionError):
    """An agent could not be started; the message says what to fix."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class AgentPaths:
    """Where the agents' binaries and files are."""

    nomad_bin: Path
    plugin_dir: Path
    run_root: Path
    results_dir: Path | None = None


class AgentManager:
    """State and procedures shared by the keyword components: what runs, how it starts and stops."""

    def __init__(self, paths: AgentPaths, driver: str, plugin_config: dict[str, Any]) -> None:
        self.nomad_bin = paths.nomad_bin
        self.plugin_dir = paths.plugin_dir
        self.run_root = paths.run_root
        self.driver = driver
        self.plugin_config = plugin_config
        self._results_dir = paths.results_dir
        self.state = sweep.StateFile(paths.run_root)
        self._prepared = False
        self._nomad_version: str | None = None
        self._run_version: versions.NomadVersion | None = None
        # Ports handed out recently stay excluded, so a just-stopped agent's ports are not reused at once.
        self._recent_ports: deque[int] = deque(maxlen=300)
        self._crun_paths: dict[str, str | None] = {}
        self.log_copies: dict[str, Path] = {}
        # Test networks of clusters in network namespaces, by cluster name (see nomadtest.netns).
        self.networks: dict[str, netns.Network] = {}
        # NOMAD_ADDR names a cluster to attach to instead of starting agents.
        self.external = external.ClusterAccess.from_environment()
        # Test namespaces this run created, by the uid of the attachment that owns each.
        self._created_namespaces: dict[str, str] = {}

    # -- where things are -------------------------------------------------

    @property
    def results_dir(self) -> Path:
        if self._results_dir is None:
            output_dir = _robot_variable("${OUTPUT DIR}")
            return Path(output_dir) / "agents" if output_dir else self.run_root / "logs"
        return self._results_dir

    @property
    def worker_dir(self) -> Path:
        """This Robot process's part of the run root; the pid alone keeps pabot workers apart,
        pabot's queue index (a Robot variable, not an environment variable) tells which is which."""
        index = _robot_variable("${PABOTQUEUEINDEX}")
        return self.run_root / (f"pabot{index}-{os.getpid()}" if index is not None else str(os.getpid()))

    def log_copy_path(self, agent: Agent) -> Path:
        return self.results_dir / f"{agent.name}-{agent.uid}.log"

    def log_path(self, name: str | Agent | None) -> Path:
        """The live agent's log, or the copy kept of a stopped one."""
        live = {agent.name for agent in REGISTRY.agents()}
        if isinstance(name, str) and name not in live and name in self.log_copies:
            return self.log_copies[name]
        return REGISTRY.find(name).log_path

    def link(self, path: Path) -> str:
        output_dir = _robot_variable("${OUTPUT DIR}")
        try:
            target = os.path.relpath(path, output_dir) if output_dir else str(path)
        except ValueError:
            target = str(path)
        return f'<a href="{html.escape(target)}">{html.escape(path.name)}</a>'

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

    def preferred_ports(self, preferred: dict[str, int]) -> portlib.AgentPorts:
        unknown = set(preferred) - {"http", "rpc", "serf"}
        if unknown:
            raise ValueError(f"Unknown port name(s) {sorted(unknown)}: use http, rpc and serf.")
        wanted = {name: portlib.check_port(name, port) for name, port in preferred.items()}
        busy = portlib.busy_ports(list(wanted.values()))
        if busy:
            logger.warn(
                f"Port(s) {', '.join(map(str, busy))} given in ports= are already in use on {portlib.HOST}: Nomad "
                "will fail to bind them, and the agent is started again on free ports."
            )
        picked = self.pick_ports()
        return portlib.AgentPorts(**{**vars(picked), **wanted})

    def prepare(self) -> None:
        """Before the first start: sweep what dead runs left, and say at the top of log.html what is tested."""
        if self._prepared:
            return
        self._prepared = True
        for line in sweep.sweep(self.run_root):
            logger.info(f"Swept leftovers of an earlier run: {line}")
        if self.external is not None:
            for line in external.sweep_namespaces(self.external, Deadline(60)):
                logger.info(f"Swept leftovers of an earlier run: {line}")
        profile = profiles.active()
        claims = ", ".join(sorted(profile.capabilities)) or "none"
        where = (
            f"external cluster at {self.external.address} (NOMAD_ADDR), jobs in a test namespace of their own"
            if self.external is not None
            else "agents started by this run on this host"
        )
        with contextlib.suppress(RobotNotRunningError):
            builtin = BuiltIn()
            builtin.set_suite_metadata(
                "Driver under test",
                f"{profile.name}: JARs by {profile.jar_delivery}, capabilities {claims} ({profile.source})",
                top=True,
            )
            builtin.set_suite_metadata("Cluster under test", where, top=True)
            builtin.set_suite_metadata("Nomad under test", self.describe_run_version(), top=True)

    def describe_run_version(self) -> str:
        try:
            version = self.run_nomad_version()
        except (AgentStartError, versions.VersionError, NomadAPIError, requests.RequestException) as error:
            return f"unknown ({error})"
        where = self.external.address if self.external is not None else self.nomad_bin
        return f"v{version} ({version.licence}), {where}"

    def attach(self, name: str, owner: str, token: str | None, namespace: str | None, deadline: Deadline) -> Agent:
        """An attachment to the external cluster, in ``namespace`` or in a new one deleted when it stops."""
        access = self.external
        uid = f"{os.getpid()}-{secrets.token_hex(3)}"
        created = not namespace
        namespace = namespace or external.namespace_name(uid)
        if created:
            external.create_namespace(access, namespace)
            self._created_namespaces[uid] = namespace
        agent = Agent(
            name=name,
            role="server+client",
            http_port=0,
            rpc_port=0,
            serf_port=0,
            run_dir=self.worker_dir / name,
            config_path=self.worker_dir / name / "agent.hcl",
            log_path=self.worker_dir / name / "agent.log",
            process=None,
            driver=self.driver,
            owner=owner,
            cluster=name,
            uid=uid,
            token=access.token if token is None else token,
            attached=access,
            namespace=namespace,
        )
        try:
            usable = external.wait_until_usable(access, agent.client, self.driver, deadline)
        except AssertionError:
            self._detach(agent)
            raise
        # Node keywords (Get Nomad Node, Get Driver Info...) of an attachment look at one usable node.
        agent.node_name = usable[0]
        agent.nomad_version = read_agent_version(agent.client)
        REGISTRY.add(agent)
        logger.info(
            f"Attached '{name}' to the Nomad cluster at {access.address}, namespace '{namespace}'"
            f"{' (created for this run)' if created else ''}; nodes with driver '{self.driver}': {', '.join(usable)}."
        )
        return agent

    def _detach(self, agent: Agent, timeout: float = 30) -> list[str]:
        problems = []
        if self._created_namespaces.pop(agent.uid, None):
            problems = external.delete_namespace(agent.attached, agent.namespace, Deadline(timeout))
        agent.client.close()
        REGISTRY.remove(agent)
        return problems

    @staticmethod
    def require_local(agent: Agent, doing: str) -> None:
        """Fail clearly when a keyword needs an agent process this run started."""
        if agent.attached is not None:
            raise AssertionError(
                f"Cannot {doing} '{agent.name}': it is the external cluster at {agent.address} (NOMAD_ADDR), not "
                "an agent this run started. Tests that need local agents are tagged needs:local-agents and skipped."
            )

    def check_nomad_binary(self) -> str:
        """The version line of the Nomad binary; fails unless it is an executable Nomad."""
        if self._nomad_version is not None:
            return self._nomad_version
        if not os.access(self.nomad_bin, os.X_OK):
            raise AgentStartError(
                f"Nomad binary {self.nomad_bin} is not executable: build it (make nomad) or set NOMAD_BIN."
            )
        try:
            answer = subprocess.run(
                [str(self.nomad_bin), "version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AgentStartError(f"{self.nomad_bin} is not a Nomad agent: `nomad version` failed: {error}") from None
        first = (answer.stdout or answer.stderr).strip().splitlines()[:1]
        if answer.returncode != 0 or not first or not first[0].startswith("Nomad v"):
            shown = first[0] if first else "nothing"
            raise AgentStartError(
                f"{self.nomad_bin} is not a Nomad agent: `{self.nomad_bin.name} version` exited with code "
                f"{answer.returncode} and printed {shown!r}, not 'Nomad v...'. Point NOMAD_BIN at a Nomad binary."
            )
        self._nomad_version = first[0]
        return self._nomad_version

    def run_nomad_version(self) -> versions.NomadVersion:
        """The Nomad this run tests, known before any agent starts: the external cluster's, or NOMAD_BIN's."""
        if self._run_version is None:
            if self.external is not None:
                self._run_version = read_agent_version(self.external.client())
            else:
                self._run_version = versions.NomadVersion.parse(self.check_nomad_binary())
        return self._run_version

    def plugins(self, settings: configuration.AgentSettings, run_dir: Path, uid: str, extra: dict | None) -> dict:
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
        settings: configuration.AgentSettings,
        agent_ports: portlib.AgentPorts,
        owner: str,
        cluster: str,
        plugin_config: dict | None,
        deadline: Deadline,
    ) -> Agent:
        """Write the configuration, start the process and wait until its API answers."""
        if self.external is not None:
            raise AgentStartError(
                f"Cannot start agent '{settings.name}': this run is attached to the external cluster at "
                f"{self.external.address} (NOMAD_ADDR). Tests that start agents are tagged needs:local-agents."
            )
        self.check_nomad_binary()
        run_dir = self.worker_dir / settings.name
        if run_dir.exists():
            sweep.cleanup(sweep.AgentRecord(settings.name, str(run_dir)), grace=1)
        uid = f"{os.getpid()}-{secrets.token_hex(3)}"
        plugins = self.plugins(settings, run_dir, uid, plugin_config)
        driver_config = plugins[self.plugin_block_name(settings.driver)]
        # Rendered before anything exists on disk, so a bad setting leaves nothing to clean up.
        text = configuration.render_config(
            settings, agent_ports, run_dir, self.plugin_dir, plugins, str(self.run_nomad_version())
        )
        config_path = run_dir / "agent.hcl"
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
            host=settings.host,
            netns=settings.netns,
        )
        runtime = driver_config.get("runtime") or driver_config.get("crun_path")
        self._crun_paths[agent.name] = runtime if settings.driver == CRUNJAR else None
        # Registered (and in the state file) before the run dir exists: whatever fails next, a stop or
        # the next run's sweep finds it.
        REGISTRY.add(agent)
        self.save_state()
        try:
            (run_dir / "data").mkdir(parents=True)
            config_path.write_text(text)
        except OSError as error:
            self.discard(agent)
            raise AgentStartError(
                f"Cannot create the run dir of Nomad agent '{agent.name}' in {self.run_root} "
                f"({runroot.free_space(self.run_root)}): {error.strerror or error} ({error.filename or run_dir})."
            ) from None
        logger.debug(f"Configuration of Nomad agent '{agent.name}' ({config_path}):\n{text}")
        self.start_process(agent)
        try:
            readiness.wait_until_listening(agent, deadline)
        except portlib.PortConflictError:
            self.discard(agent)
            raise
        logger.info(f"Started Nomad agent '{agent.name}' ({agent.role}) at {agent.address}, run dir {run_dir}.")
        return agent

    def start_process(self, agent: Agent) -> float:
        """Start (or start again) the agent's process; returns the time it was started."""
        self.require_local(agent, "start")
        if agent.log_path.exists():
            with open(agent.log_path, "a") as log:
                log.write(f"\n{agentlog.RESTART_MARKER} at {time.strftime('%H:%M:%S')}\n")
        started = time.time()
        joined = netns.join_command(agent.netns) if agent.netns else []
        argv = [*joined, str(self.nomad_bin), "agent", "-config", str(agent.config_path)]
        agent.process = processes.start_process(argv, agent.log_path, agent.run_dir)
        self.save_state()
        return started

    def start_with_retry(self, launch: Callable[[portlib.AgentPorts], Agent], first: portlib.AgentPorts | None = None):
        pending = [first] if first else []

        def pick() -> portlib.AgentPorts:
            return pending.pop() if pending else self.pick_ports()

        def on_retry(lost: portlib.AgentPorts, conflict: Exception) -> None:
            logger.info(f"Ports {tuple(lost)} were taken before Nomad could bind them; retrying with new ones.")

        return readiness.with_port_retry(launch, pick, on_retry=on_retry)

    def wait_ready(
        self, api: Agent, watched: list[Agent], since: dict[str, float], deadline: Deadline, require_driver: bool = True
    ) -> None:
        readiness.wait_until_ready(
            api, watched, since, api.driver, deadline, require_driver=require_driver, on_stuck_registration=self.kick
        )
        for agent in watched:
            agent.nomad_version = read_agent_version(agent.client)

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
        readiness.wait_until_listening(agent, Deadline(30))

    def kill(self, agent: Agent) -> None:
        self.require_local(agent, "kill")
        agent.record_disruption("agent SIGKILL", agent.pid)
        agent.process.kill()
        agent.process.wait()
        self.save_state()
        logger.info(f"Killed Nomad agent '{agent.name}' (pid {agent.pid}) with SIGKILL.")

    def cluster_server(self, agent: Agent) -> Agent | None:
        """A running server of the agent's cluster: the one to ask about it."""
        for other in REGISTRY.agents():
            if other.cluster == agent.cluster and other.is_server and other.is_running:
                return other
        return None

    # -- stopping ---------------------------------------------------------

    def stop_process(self, agent: Agent, grace: float) -> None:
        """SIGINT the agent alone (not its tasks or plugins' detached children), SIGKILL after ``grace``."""
        self.require_local(agent, "stop the process of")
        if agent.process is None or agent.process.poll() is not None:
            return
        agent.process.send_signal(signal.SIGINT)
        try:
            agent.process.wait(grace)
        except subprocess.TimeoutExpired:
            agent.process.kill()
            agent.process.wait()

    def discard(self, agent: Agent) -> Path | None:
        """Remove an agent that never became usable, without API calls; returns the kept copy of its log."""
        _, copy = self._remove(agent, grace=1)
        return copy

    def stop(self, stopping: list[Agent], grace: float, timeout: float) -> list[str]:
        """Stop ``stopping``: purge jobs where a whole cluster goes, then clients, then servers."""
        problems: list[str] = []
        for agent in [agent for agent in stopping if agent.attached is not None]:
            problems += [f"{agent.name}: {problem}" for problem in self._detach(agent, timeout)]
        stopping = [agent for agent in stopping if agent.attached is None]
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
        problems += self.remove_idle_networks()
        sessions.point_current_at_latest()
        return problems

    def remove_idle_networks(self) -> list[str]:
        """Remove the test networks (netns) of clusters none of whose agents is left."""
        live = {agent.cluster for agent in REGISTRY.agents()}
        problems = []
        for cluster in [cluster for cluster in self.networks if cluster not in live]:
            left = netns.remove(self.networks[cluster])
            problems += [f"network of cluster '{cluster}': {problem}" for problem in left]
            del self.networks[cluster]
            self.save_state()
        return problems

    def purge(self, server: Agent, members: list[Agent], timeout: float) -> None:
        live_clients = [agent.name for agent in members if agent.is_client and agent.is_running]
        try:
            live_nodes = set(nodes.node_ids(server.client, live_clients).values()) if live_clients else set()
            registered = server.client.get("/v1/jobs", namespace="*") or []
            keys = [(job["Namespace"], job["ID"]) for job in registered]
            pending = removal.stop_jobs(server.client, keys, True, Deadline(timeout), live_nodes)
        except (requests.RequestException, NomadAPIError) as error:
            logger.warn(f"Could not purge the jobs of Nomad agent '{server.name}' before stopping it: {error}")
            return
        if pending:
            logger.warn(
                f"Allocations still not terminal {timeout:g} s after their jobs were stopped: {', '.join(pending)}. "
                "Their processes and containers are killed with the agent."
            )

    def stop_one(self, agent: Agent, grace: float) -> list[str]:
        ports = [agent.http_port, agent.rpc_port, agent.serf_port]
        problems, copy = self._remove(agent, grace)
        problems += self.ports_still_taken(ports)
        kept = f"its log is kept at {self.link(copy)}" if copy else "no copy of its log was kept"
        logger.info(f"Stopped Nomad agent '{agent.name}'; {kept}.", html=True)
        return problems

    def _remove(self, agent: Agent, grace: float) -> tuple[list[str], Path | None]:
        """Clean up after the agent and forget it; returns what was left and the kept copy of its log."""
        record = sweep.AgentRecord.of(agent, self._crun_paths.pop(agent.name, None))
        copy = self.log_copy_path(agent)
        problems = sweep.cleanup(record, grace, keep_log=copy, warn=logger.warn)
        sweep.remove_if_empty(agent.run_dir.parent)
        agent.client.close()
        REGISTRY.remove(agent)
        self.save_state()
        if not copy.exists():
            return problems, None
        self.log_copies[agent.name] = copy
        return problems, copy

    @staticmethod
    def ports_still_taken(agent_ports: list[int], wait: float = 5.0) -> list[str]:
        outcome = poll(
            lambda: Pending(str(busy)) if (busy := portlib.busy_ports(agent_ports)) else Done(),
            Deadline(wait),
            interval=0.1,
        )
        if isinstance(outcome, Done):
            return []
        busy = portlib.busy_ports(agent_ports)
        holders = {}
        for connection in psutil.net_connections(kind="inet"):
            if connection.laddr and connection.laddr.port in busy and connection.pid:
                holders[connection.laddr.port] = connection.pid
        return [f"port {port} is still in use (pid {holders.get(port, 'unknown')})" for port in busy]

    def release(self, owner: str | None, keep: bool = False) -> tuple[list[str], list[str]]:
        """Stop what ``owner`` (None: anybody but what was kept) still has; for the listener.

        With ``keep`` (a failed test, under ``NOMAD_E2E_KEEP=1``) the agents stay up and say how to
        reach them; the next run's sweep removes them.
        """
        if owner is None:
            left = [agent for agent in REGISTRY.agents() if agent.owner != failures.KEPT]
        else:
            left = [agent for agent in REGISTRY.agents() if owned_by(owner, agent.owner)]
        if not left:
            return [], []
        if keep:
            for agent in left:
                agent.owner = failures.KEPT
                logger.warn(
                    f"Kept Nomad agent '{agent.name}' of failed test '{owner}' running for debugging: "
                    f"NOMAD_ADDR={agent.address} nomad status; run dir {agent.run_dir}, log {agent.log_path}, "
                    f"pid {agent.pid}. The next run sweeps it."
                )
            return [], []
        return [agent.name for agent in left], self.stop(left, grace=10, timeout=30)

    def save_state(self) -> None:
        # An attachment leaves no record here: its namespace's meta is its record (external.sweep_namespaces).
        records = [
            sweep.AgentRecord.of(agent, self._crun_paths.get(agent.name))
            for agent in REGISTRY.agents()
            if agent.attached is None
        ]
        try:
            self.state.write(records, [network.as_dict() for network in self.networks.values()])
        except OSError as error:
            raise AgentStartError(
                f"Cannot write the state file {self.state.path} ({runroot.free_space(self.run_root)}): "
                f"{error.strerror}. Without it a crashed run could not be cleaned up by the next one."
            ) from None

    def log_forensics(self, targets: list[Agent], lines: int = 50, level: str = "INFO") -> None:
        """The tail of each agent's log in log.html, with a link to a full copy kept in the results."""
        for target in targets:
            if target.attached is not None:
                logger.write(
                    f"'{target.name}' is the external cluster at {target.address}, namespace '{target.namespace}': "
                    "its agents' logs are on its own hosts.",
                    level=level,
                )
                continue
            copy = self.log_copy_path(target)
            try:
                copy.parent.mkdir(parents=True, exist_ok=True)
                if target.log_path.exists():
                    shutil.copyfile(target.log_path, copy)
                kept = f"full log: {self.link(copy)}"
            except OSError as error:
                kept = f"no copy of the full log ({html.escape(str(error))}): {html.escape(str(target.log_path))}"
            state = "running" if target.is_running else "not running"
            text = agentlog.tail(target.log_path, None)
            tail = html.escape("\n".join(agentlog.quiet_lines(text, lines)))
            logger.write(
                f"Nomad agent '{target.name}' ({target.role}, {state}, {target.address}); "
                f"{kept}<br>Last {lines} lines (HTTP request records left out):"
                f'<pre style="white-space: pre-wrap">{tail}</pre>',
                level=level,
                html=True,
            )


def read_agent_version(client: NomadClient) -> versions.NomadVersion:
    """The agent's Nomad version from ``/v1/agent/self``; a token without ``agent:read`` (an external
    cluster's) falls back to the oldest version among the nodes, the agents its tasks run on."""
    try:
        return versions.from_agent_self(client.get("/v1/agent/self"))
    except NomadAPIError as error:
        if error.status != 403:
            raise
    listed = [node["Version"] for node in client.get("/v1/nodes") or [] if node.get("Version")]
    if not listed:
        raise versions.VersionError("Neither /v1/agent/self (403) nor /v1/nodes tells the Nomad version.")
    return min(versions.NomadVersion.parse(version) for version in listed)


def _robot_variable(name: str) -> Any:
    try:
        return BuiltIn().get_variable_value(name)
    except RobotNotRunningError:
        return None

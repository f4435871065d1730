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
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from robot.api import logger
from robot.api.types import Secret
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from nomadtest import failures, profiles, robotvars, versions
from nomadtest.agents import agentlog, external
from nomadtest.agents.launching import AgentLauncher, AgentStartError, read_agent_version
from nomadtest.agents.stopping import AgentStopper
from nomadtest.api.client import NomadAPIError
from nomadtest.api.tokens import as_secret
from nomadtest.host import netns, runroot, sweep
from nomadtest.host import ports as portlib
from nomadtest.listener import owned_by
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline

# What a failed test gets from this module in log.html (see nomadtest.failures).
FORENSICS_CAPTURE = "agent logs"


@dataclass(frozen=True)
class AgentPaths:
    """Where the agents' binaries and files are."""

    nomad_bin: Path
    plugin_dir: Path
    run_root: Path
    results_dir: Path | None = None


class AgentManager(AgentLauncher, AgentStopper):
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
        self._runtimes: dict[str, str | None] = {}
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
            output_dir = robotvars.robot_variable("${OUTPUT DIR}")
            return Path(output_dir) / "agents" if output_dir else self.run_root / "logs"
        return self._results_dir

    @property
    def worker_dir(self) -> Path:
        """This Robot process's part of the run root; the pid alone keeps pabot workers apart,
        pabot's queue index (a Robot variable, not an environment variable) tells which is which."""
        index = robotvars.pabot_queue_index()
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
        output_dir = robotvars.robot_variable("${OUTPUT DIR}")
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
        claims = ", ".join(sorted(profile.claims())) or "none"
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

    def attach(
        self, name: str, owner: str, token: Secret | str | None, namespace: str | None, deadline: Deadline
    ) -> Agent:
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
            token=access.token if token is None else as_secret(token),
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

    def cluster_server(self, agent: Agent) -> Agent | None:
        """A running server of the agent's cluster: the one to ask about it."""
        for other in REGISTRY.agents():
            if other.cluster == agent.cluster and other.is_server and other.is_running:
                return other
        return None

    # -- stopping ---------------------------------------------------------

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
            sweep.AgentRecord.of(agent, self._runtimes.get(agent.name))
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

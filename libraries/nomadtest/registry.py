"""What this run has started, who owns it, and which agent keywords talk to by default.

Owners are Robot Framework test or suite long names. One registry serves every
library in the process, so NomadJob and LogVerifier reach the agents that
NomadServer started without calling each other's keywords.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from robot.api.types import Secret

from nomadtest.api.client import NomadClient
from nomadtest.versions import NomadVersion

if TYPE_CHECKING:
    from nomadtest.agents.external import ClusterAccess


@dataclass
class Disruption:
    """A crash a test inflicted on an agent: what, when, and how far its log went at that moment.

    Checks that follow read the agent log from ``log_offset`` on, so that what an earlier crash
    made the agent log does not count, and measure recovery times from ``at`` and ``restarted_at``.
    """

    what: str
    at: float  # time.time() just before the crash
    log_offset: int
    pid: int | None = None  # the process that was killed
    restarted_at: float | None = None  # time.time() when the agent process was started again


@dataclass
class Agent:
    """One running ``nomad agent`` process and everything it was given."""

    name: str
    role: str  # "server", "client" or "server+client"
    http_port: int
    rpc_port: int
    serf_port: int
    run_dir: Path
    config_path: Path
    log_path: Path
    process: subprocess.Popen | None
    driver: str
    # Where the driver keeps per-agent state (crunjar: bundles and crun root)
    # and the cgroup parent of its containers; empty for other drivers.
    driver_state_dir: Path | None = None
    cgroup_parent: str = ""
    owner: str = ""
    # Agents started together by 'Start Nomad Cluster' share a cluster name; a lone agent has its own.
    cluster: str = ""
    # Unique over runs and pabot workers: names log copies and the crunjar cgroup parent.
    uid: str = ""
    # The ACL token API calls carry (None: ACLs are off).
    token: Secret | None = field(default=None, repr=False)
    # Set for an attachment to a cluster this run did not start (NOMAD_ADDR): no process, no files,
    # jobs in a namespace of their own.
    attached: ClusterAccess | None = None
    namespace: str = ""
    # The node of the agent's client, when it is not named after the agent (an attachment's).
    node_name: str = ""
    # The address the agent binds, and the network namespace it runs in (empty: the host's).
    host: str = "127.0.0.1"
    netns: str = ""
    # Read from the agent once it is ready (/v1/agent/self): templates and expectations follow it.
    nomad_version: NomadVersion | None = None
    client: NomadClient = field(init=False)
    # Crashes inflicted by tests, oldest first (see Disruption).
    disruptions: list[Disruption] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.attached is not None:
            self.client = self.attached.client(token=self.token, namespace=self.namespace)
        else:
            self.client = NomadClient(self.address, token=self.token, direct=True)

    @property
    def address(self) -> str:
        return self.attached.address if self.attached is not None else f"http://{self.host}:{self.http_port}"

    @property
    def node(self) -> str:
        return self.node_name or self.name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def is_server(self) -> bool:
        return "server" in self.role

    @property
    def is_client(self) -> bool:
        return "client" in self.role

    @property
    def is_running(self) -> bool:
        if self.attached is not None:
            return True
        return self.process is not None and self.process.poll() is None

    def record_disruption(self, what: str, pid: int | None = None) -> Disruption:
        """Note that a crash is about to be inflicted; call it just before sending the signal."""
        try:
            offset = self.log_path.stat().st_size
        except OSError:
            offset = 0
        disruption = Disruption(what=what, at=time.time(), log_offset=offset, pid=pid)
        self.disruptions.append(disruption)
        return disruption

    @property
    def last_disruption(self) -> Disruption | None:
        return self.disruptions[-1] if self.disruptions else None


class Registry:
    """Thread-safe record of the agents of this run, in start order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._agents: list[Agent] = []
        # The agent each job was submitted to: job keywords talk to it unless told otherwise.
        self._job_agents: dict[str, Agent] = {}

    def add(self, agent: Agent) -> None:
        with self._lock:
            self._agents.append(agent)

    def remove(self, agent: Agent) -> None:
        with self._lock:
            if agent in self._agents:
                self._agents.remove(agent)

    def make_default(self, agent: Agent) -> None:
        """Make ``agent`` the one keywords use when none is named, as if it had been started last."""
        with self._lock:
            if agent in self._agents:
                self._agents.remove(agent)
                self._agents.append(agent)

    def agents(self) -> list[Agent]:
        with self._lock:
            return list(self._agents)

    def find(self, name_or_agent: str | Agent | None = None) -> Agent:
        """The agent named, or the most recently started one when no name is given."""
        if isinstance(name_or_agent, Agent):
            return name_or_agent
        agents = self.agents()
        if not agents:
            raise RuntimeError("No Nomad agent is running: start one with 'Start Nomad Server' first.")
        if name_or_agent in (None, ""):
            return agents[-1]
        for agent in agents:
            if agent.name == name_or_agent:
                return agent
        names = ", ".join(agent.name for agent in agents)
        raise RuntimeError(f"No Nomad agent named '{name_or_agent}'; running: {names}.")

    def note_job(self, job_id: str, agent: Agent) -> None:
        with self._lock:
            self._job_agents[job_id] = agent

    def for_job(self, job_id: str, name_or_agent: str | Agent | None = None) -> Agent:
        """The agent named; without a name, the one the job was submitted to while it runs, else the default."""
        if name_or_agent in (None, ""):
            with self._lock:
                submitted_to = self._job_agents.get(job_id)
            if submitted_to is not None and submitted_to in self.agents() and submitted_to.is_running:
                return submitted_to
        return self.find(name_or_agent)

    def client(self, name_or_agent: str | Agent | None = None) -> NomadClient:
        """The API client of the agent named, preferring a server for cluster-wide calls."""
        return self.find(name_or_agent).client


REGISTRY = Registry()

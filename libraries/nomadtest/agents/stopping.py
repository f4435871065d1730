"""Stopping agent processes and removing every trace of them: jobs, processes, networks, ports, run dirs."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psutil
import requests
from robot.api import logger

from nomadtest.agents import nodes, sessions
from nomadtest.api.client import NomadAPIError
from nomadtest.host import netns, sweep
from nomadtest.host import ports as portlib
from nomadtest.jobs import removal
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, Done, Pending, poll


class AgentStopper:
    """The part of :class:`AgentManager` that stops agents and removes what they left."""

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
        problems += self.ports_still_taken(ports, agent.run_dir)
        kept = f"its log is kept at {self.link(copy)}" if copy else "no copy of its log was kept"
        logger.info(f"Stopped Nomad agent '{agent.name}'; {kept}.", html=True)
        return problems

    def _remove(self, agent: Agent, grace: float) -> tuple[list[str], Path | None]:
        """Clean up after the agent and forget it; returns what was left and the kept copy of its log."""
        record = sweep.AgentRecord.of(agent, self._runtimes.pop(agent.name, None))
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
    def ports_still_taken(agent_ports: list[int], run_dir: Path, wait: float = 5.0) -> list[str]:
        """The agent's ports still held ``wait`` seconds after it stopped, unless by a process plainly not its.

        A freed port is anyone's: another run's agent or a task may bind it at once (under pabot one did).
        Such a holder names nothing of ``run_dir``. Holders are looked up once, at the end: listing every
        socket of the host reads every process's open files.
        """
        outcome = poll(
            lambda: Pending(str(busy)) if (busy := portlib.busy_ports(agent_ports)) else Done(),
            Deadline(wait),
            interval=0.1,
        )
        if isinstance(outcome, Done):
            return []
        busy = portlib.busy_ports(agent_ports)
        holders = _holders(busy)
        left = [port for port in busy if not _elsewhere(holders.get(port), run_dir)]
        return [f"port {port} is still in use (pid {holders.get(port, 'unknown')})" for port in left]


def _holders(ports: list[int]) -> dict[int, int]:
    """The pid listening on or connected from each of ``ports``, where the host lets us see it."""
    holders = {}
    for connection in psutil.net_connections(kind="inet"):
        if connection.laddr and connection.laddr.port in ports and connection.pid:
            holders[connection.laddr.port] = connection.pid
    return holders


def _elsewhere(pid: int | None, run_dir: Path) -> bool:
    """Whether process ``pid`` is known and names nothing of ``run_dir`` in its command line or working dir."""
    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        named = " ".join([*process.cmdline(), process.cwd()])
    except psutil.Error:
        return False
    return str(run_dir) not in named

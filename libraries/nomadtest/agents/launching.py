"""Starting agent processes: the Nomad binary and its version, plugin settings, launch, readiness, kills."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from robot.api import logger

from nomadtest import profiles, versions
from nomadtest.agents import agentlog, configuration, readiness
from nomadtest.api.client import NomadAPIError, NomadClient
from nomadtest.host import netns, processes, runroot, sweep
from nomadtest.host import ports as portlib
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline

# How long `nomad version` may take to prove a binary is Nomad.
VERSION_TIMEOUT = 10


class AgentStartError(AssertionError):
    """An agent could not be started; the message says what to fix."""

    ROBOT_SUPPRESS_NAME = True


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


class AgentLauncher:
    """The part of :class:`AgentManager` that starts, restarts and kills agent processes."""

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
        # The profile's per-agent values ({run_dir}, {agent_uid}) keep parallel agents apart.
        config = profiles.expand({**self.plugin_config, **(extra or {})}, run_dir, uid)
        return {self.plugin_block_name(settings.driver): config}

    def plugin_block_name(self, driver: str) -> str:
        """Nomad names an external plugin's block after its file in plugin_dir (the profile's ``plugin``, by
        convention ``nomad-driver-<driver>``), a built-in one after the driver."""
        named = profiles.for_driver(driver).plugin
        for candidate in (*([named] if named else []), f"nomad-driver-{driver}", driver):
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
        profile = profiles.for_driver(settings.driver)
        cleanup = profile.cleanup
        if settings.client:
            settings.add_driver_client_settings(profile.client)
        swept = {what: str(driver_config[option]) for what, option in cleanup.items() if driver_config.get(option)}
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
            driver_state_dir=Path(swept["state_dir"]) if "state_dir" in swept else None,
            cgroup_parent=swept.get("cgroup_parent", ""),
            owner=owner,
            cluster=cluster,
            uid=uid,
            host=settings.host,
            netns=settings.netns,
        )
        self._runtimes[agent.name] = swept.get("runtime")
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

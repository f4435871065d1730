"""Starting, restarting and stopping single agents: the procedures behind NomadServer's lifecycle keywords."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from robot.api import logger
from robot.api.types import Secret

from nomadtest import failures
from nomadtest.agents import configuration, readiness, sessions
from nomadtest.agents.manager import AgentManager
from nomadtest.api.client import NomadAPIError
from nomadtest.host import ports as portlib
from nomadtest.listener import current_owner, failing_test
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline


@dataclass
class StartRequest:
    """What `Start Nomad Server` was asked for, as the keyword documents it."""

    name: str | None = None
    server: bool = True
    client: bool = True
    servers: list[str] | None = None
    plugin_config: dict[str, Any] | None = None
    extra_hcl: str = ""
    config: dict[str, Any] | None = None
    ports: dict[str, int] | None = None
    wait_for_driver: bool = True
    token: Secret | str | None = field(default=None, repr=False)
    namespace: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def local_only(self) -> list[str]:
        """The arguments that configure an agent this run starts, so cannot apply to an external cluster."""
        given = {
            "server": not self.server,
            "client": not self.client,
            "servers": self.servers,
            "plugin_config": self.plugin_config,
            "extra_hcl": self.extra_hcl,
            "config": self.config,
            "ports": self.ports,
            "wait_for_driver": not self.wait_for_driver,
            **self.overrides,
        }
        return sorted(argument for argument, value in given.items() if value)


def start_agent(manager: AgentManager, request: StartRequest, deadline: Deadline) -> Agent:
    """Start one agent (or attach to the external cluster) and wait until it is ready."""
    if not (request.server or request.client):
        raise ValueError("An agent must run a server, a client or both.")
    manager.prepare()
    name = request.name or manager.new_name("nomad")
    manager.check_free_name(name)
    if manager.external is not None:
        given = request.local_only()
        if given:
            raise ValueError(
                f"Cannot apply {', '.join(given)} to the external cluster at {manager.external.address} "
                "(NOMAD_ADDR): they configure an agent this run starts. Tag the test needs:local-agents."
            )
        agent = manager.attach(name, current_owner(), request.token, request.namespace, deadline)
        sessions.open_for(agent)
        return agent
    if request.token is not None or request.namespace is not None:
        raise ValueError("token and namespace apply to an external cluster: set NOMAD_ADDR to attach to one.")
    joined = [REGISTRY.find(entry) for entry in request.servers or [] if ":" not in entry]
    addresses = [entry for entry in request.servers or [] if ":" in entry]
    settings = configuration.AgentSettings(
        name=name, server=request.server, client=request.client, driver=manager.driver
    )
    if request.server:
        settings.server_join = [f"127.0.0.1:{agent.serf_port}" for agent in joined] + addresses
        # Joining an existing cluster: do not bootstrap a second one.
        settings.bootstrap_expect = 0 if settings.server_join else 1
    else:
        settings.client_servers = [f"127.0.0.1:{agent.rpc_port}" for agent in joined] + addresses
    settings.extra_hcl = request.extra_hcl
    settings.apply_overrides({**(request.config or {}), **request.overrides})
    cluster = joined[0].cluster if joined else name
    started = time.time()
    first = manager.preferred_ports(request.ports) if request.ports else None
    agent = manager.start_with_retry(
        lambda picked: manager.launch(settings, picked, current_owner(), cluster, request.plugin_config, deadline),
        first,
    )
    since = {agent.name: started} if request.client else {}
    wait_ready_or_remove(manager, agent, since, deadline, request.wait_for_driver)
    if agent.is_server and agent.is_client:
        try:
            readiness.persist_raft_snapshot(agent.client)
        except (requests.RequestException, NomadAPIError) as error:
            logger.warn(f"No raft snapshot of '{agent.name}': a restart of it may take 15-30 s more. {error}")
    sessions.open_for(agent)
    logger.info(f"Nomad agent '{agent.name}' is ready after {time.time() - started:.1f} s.")
    return agent


def wait_ready_or_remove(
    manager: AgentManager, agent: Agent, since: dict[str, float], deadline: Deadline, require_driver: bool = True
) -> None:
    """Wait until the agent is ready; one that never gets there is removed, its log kept for the error."""
    try:
        manager.wait_ready(agent, [agent], since, deadline, require_driver)
    except (readiness.AgentNotReadyError, readiness.AgentExitedError) as error:
        copy = manager.discard(agent)
        message = str(error)
        if copy is not None:
            message = message.replace(str(agent.log_path), str(copy))
        raise readiness.AgentNotReadyError(message) from None


def stop_agents(manager: AgentManager, agents: list[Agent], grace: Deadline, timeout: Deadline) -> None:
    """Stop agents and remove every trace of them; fails naming whatever was left."""
    failed = failing_test()
    if failed:
        # A failed test's teardown is about to remove the evidence: take it now.
        failures.capture_failed_test(failed)
    problems = manager.stop(agents, grace.seconds, timeout.seconds)
    if problems:
        raise AssertionError("Stopping left things behind:\n" + "\n".join(problems))


def restart_agent(manager: AgentManager, target: Agent, grace: Deadline, deadline: Deadline) -> None:
    """SIGINT the agent (SIGKILL after ``grace``) if it runs, then start it again and wait until ready."""
    if target.is_running:
        target.record_disruption("agent restart (SIGINT)", target.pid)
        manager.stop_process(target, grace.seconds)
    start_again(manager, target, deadline)


def restart_client(manager: AgentManager, target: Agent, deadline: Deadline) -> None:
    """SIGKILL a client agent if it runs, as in a crash, then start it again and wait until ready."""
    if not target.is_client:
        raise AssertionError(f"Nomad agent '{target.name}' runs no client: use 'Restart Nomad Agent'.")
    if target.is_running:
        manager.kill(target)
    start_again(manager, target, deadline)


def kill_agent(manager: AgentManager, target: Agent) -> None:
    if not target.is_running:
        raise AssertionError(f"Nomad agent '{target.name}' is not running.")
    manager.kill(target)


def start_again(manager: AgentManager, target: Agent, deadline: Deadline) -> None:
    """Start a stopped agent's process with its configuration, data and ports, and wait until it is ready."""
    busy = portlib.busy_ports([target.http_port, target.rpc_port, target.serf_port])
    if busy:
        raise AssertionError(f"Cannot restart '{target.name}': its ports {busy} are taken by another process.")
    started = manager.start_process(target)
    if target.last_disruption is not None and target.last_disruption.restarted_at is None:
        target.last_disruption.restarted_at = started
    readiness.wait_until_listening(target, deadline)
    api = target if target.is_server else manager.cluster_server(target) or target
    since = {target.name: started} if target.is_client else {}
    manager.wait_ready(api, [target], since, deadline)
    logger.info(f"Nomad agent '{target.name}' is ready again after {time.time() - started:.2f} s.")

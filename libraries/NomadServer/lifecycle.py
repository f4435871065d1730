"""Keywords that start, restart, kill and stop single agents."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import requests
from robot.api import logger
from robot.api.deco import keyword

from nomadtest import failures
from nomadtest.agents import configuration, readiness, sessions
from nomadtest.agents.manager import AgentManager
from nomadtest.api.client import NomadAPIError
from nomadtest.host import ports as portlib
from nomadtest.library import CRASH, LIFECYCLE, LibraryComponent
from nomadtest.listener import current_owner, failing_test
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline


class Lifecycle(LibraryComponent):
    """Start, restart, kill and stop agents."""

    @property
    def manager(self) -> AgentManager:
        return self.library.manager

    @keyword(tags=[LIFECYCLE])
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
        wait_for_driver: bool = True,
        token: str | None = None,
        namespace: str | None = None,
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
          node status, the driver's health description and the agent log's warnings.
        - ``servers``: names (or ``host:port`` addresses) of running server agents to join:
          a client uses their RPC addresses, a server joins their Serf addresses.
        - ``plugin_config``: driver plugin settings merged over the library's.
        - ``extra_hcl``: raw HCL appended to the configuration.
        - ``ports``: preferred ports for the first attempt, e.g. ``${{ {'http': 4646} }}``; the
          others are picked free. A port given that is already in use is reported at WARN level;
          Nomad fails to bind it, and the agent is started again on new free ports (up to 3
          attempts), as after any port race.
        - ``wait_for_driver``: with ``${False}``, ready means the node registered with its
          first fingerprints, healthy driver or not: for tests of an unhealthy driver.
        - ``config`` and ``**overrides``: configuration settings such as ``datacenter``,
          ``region``, ``log_level``, ``node_class``, ``meta`` (dict), ``client_options`` (dict);
          in ``config``, ``server`` and ``client`` dicts are merged into those blocks (as
          arguments, ``server`` and ``client`` are the switches above); other names become
          top-level attributes. Give non-string values as ``${True}`` or ``${{ {...} }}``.

        Fails at once when the driver's plugin was not loaded (the node registered without
        it), quoting Nomad's warnings. An agent that fails to start is removed at once.

        With ``NOMAD_ADDR`` set (and ``NOMAD_TOKEN``, ``NOMAD_CACERT``... as the Nomad CLI reads
        them), nothing is started: the keyword attaches to that cluster, creates a namespace for
        the jobs of this attachment and waits for a leader and a ready node with the driver
        healthy. Stopping it purges the namespace's jobs and deletes the namespace; a later run
        on this host deletes what a killed run left. ``token`` uses another ACL token than
        ``NOMAD_TOKEN``; ``namespace`` uses an existing namespace (its jobs are left alone) instead
        of creating one. Arguments that configure an agent (``plugin_config``, ``ports``,
        ``servers``, ``config``...) cannot apply to a cluster already running and fail; tests
        that need them are tagged ``needs:local-agents`` and skipped in that mode.

        The agent belongs to the running test, or to the suite when started in a suite
        setup, and is stopped when its owner ends even if no teardown stops it.
        Returns the agent name, which other keywords accept as ``agent``. When the suite imports
        RequestsLibrary, the agent also gets a session named after it, and ``nomad`` names the
        session of the agent started last, for raw API calls (``GET On Session    nomad    /v1/jobs``).

        Example:
        | ${agent} = | `Start Nomad Server` | | |
        | `Start Nomad Server` | name=edge | datacenter=dc2 | meta=${{ {'rack': 'r1'} }} |
        | `Start Nomad Server` | name=worker | server=${False} | servers=${{ ['nomad-1'] }} |
        | `Start Nomad Server` | config=${{ {'client': {'gc_max_allocs': 10}} }} | | |
        | `Start Nomad Server` | plugin_config=${{ {'java_runtimes': ['/nowhere']} }} | wait_for_driver=${False} | |
        """
        if not (server or client):
            raise ValueError("An agent must run a server, a client or both.")
        deadline = Deadline(timeout)
        manager = self.manager
        manager.prepare()
        name = name or manager.new_name("nomad")
        manager.check_free_name(name)
        if manager.external is not None:
            local_only = {
                "server": not server,
                "client": not client,
                "servers": servers,
                "plugin_config": plugin_config,
                "extra_hcl": extra_hcl,
                "config": config,
                "ports": ports,
                "wait_for_driver": not wait_for_driver,
                **overrides,
            }
            given = sorted(argument for argument, value in local_only.items() if value)
            if given:
                raise ValueError(
                    f"Cannot apply {', '.join(given)} to the external cluster at {manager.external.address} "
                    "(NOMAD_ADDR): they configure an agent this run starts. Tag the test needs:local-agents."
                )
            agent = manager.attach(name, current_owner(), token, namespace, deadline)
            sessions.open_for(agent)
            return agent.name
        if token is not None or namespace is not None:
            raise ValueError("token and namespace apply to an external cluster: set NOMAD_ADDR to attach to one.")
        joined = [REGISTRY.find(entry) for entry in servers or [] if ":" not in entry]
        addresses = [entry for entry in servers or [] if ":" in entry]
        settings = configuration.AgentSettings(name=name, server=server, client=client, driver=manager.driver)
        if server:
            settings.server_join = [f"127.0.0.1:{agent.serf_port}" for agent in joined] + addresses
            # Joining an existing cluster: do not bootstrap a second one.
            settings.bootstrap_expect = 0 if settings.server_join else 1
        else:
            settings.client_servers = [f"127.0.0.1:{agent.rpc_port}" for agent in joined] + addresses
        settings.extra_hcl = extra_hcl
        settings.apply_overrides({**(config or {}), **overrides})
        cluster = joined[0].cluster if joined else name
        started = time.time()
        first = manager.preferred_ports(ports) if ports else None
        agent = manager.start_with_retry(
            lambda picked: manager.launch(settings, picked, current_owner(), cluster, plugin_config, deadline), first
        )
        since = {agent.name: started} if client else {}
        self.wait_ready_or_remove(agent, since, deadline, wait_for_driver)
        if agent.is_server and agent.is_client:
            try:
                readiness.persist_raft_snapshot(agent.client)
            except (requests.RequestException, NomadAPIError) as error:
                logger.warn(f"No raft snapshot of '{agent.name}': a restart of it may take 15-30 s more. {error}")
        sessions.open_for(agent)
        logger.info(f"Nomad agent '{agent.name}' is ready after {time.time() - started:.1f} s.")
        return agent.name

    def wait_ready_or_remove(
        self, agent: Agent, since: dict[str, float], deadline: Deadline, require_driver: bool = True
    ) -> None:
        """Wait until the agent is ready; one that never gets there is removed, its log kept for the error."""
        try:
            self.manager.wait_ready(agent, [agent], since, deadline, require_driver)
        except (readiness.AgentNotReadyError, readiness.AgentExitedError) as error:
            copy = self.manager.discard(agent)
            message = str(error)
            if copy is not None:
                message = message.replace(str(agent.log_path), str(copy))
            raise readiness.AgentNotReadyError(message) from None

    @keyword(tags=[LIFECYCLE])
    def stop_nomad_server(
        self,
        agent: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        """Stops an agent and removes every trace of it: processes, containers, mounts, cgroups, files.

        When the last running server of the agent's cluster stops, its jobs are first
        stopped, their allocations awaited (up to ``timeout``) so that the driver
        destroys its tasks the normal way, and then purged. Then the agent gets SIGINT and
        ``grace`` to exit, after which its whole process tree and every process using
        its run directory (executors, driver monitors) are killed. Containers under
        the driver's crun root are killed and deleted, mounts under the run directory
        unmounted, the driver's cgroups removed, the agent log copied into the results
        (best effort) and the run directory deleted. Fails if any of that, or a port, is
        left. Works as well on an agent that already died.

        ``agent`` defaults to the most recently started one.

        Example:
        | `Stop Nomad Server` | | |
        | `Stop Nomad Server` | server-2 | grace=2s |
        """
        self._stop([REGISTRY.find(agent)], grace, timeout)

    @keyword(tags=[LIFECYCLE])
    def stop_all_nomad_servers(
        self, grace: timedelta = timedelta(seconds=10), timeout: timedelta = timedelta(seconds=30)
    ) -> None:
        """Stops every agent this library started, whoever owns it, as `Stop Nomad Server` does.

        Example:
        | [Teardown] | `Stop All Nomad Servers` |
        """
        self._stop(REGISTRY.agents(), grace, timeout)

    def _stop(self, agents: list[Agent], grace: timedelta, timeout: timedelta) -> None:
        failed = failing_test()
        if failed:
            # A failed test's teardown is about to remove the evidence: take it now.
            failures.capture_failed_test(failed)
        problems = self.manager.stop(agents, Deadline(grace).seconds, Deadline(timeout).seconds)
        if problems:
            raise AssertionError("Stopping left things behind:\n" + "\n".join(problems))

    @keyword(tags=[LIFECYCLE])
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
        deadline = Deadline(timeout)
        if target.is_running:
            target.record_disruption("agent restart (SIGINT)", target.pid)
            self.manager.stop_process(target, Deadline(grace).seconds)
        self._start_again(target, deadline)

    @keyword(tags=[LIFECYCLE, CRASH])
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
        deadline = Deadline(timeout)
        if not target.is_client:
            raise AssertionError(f"Nomad agent '{target.name}' runs no client: use 'Restart Nomad Agent'.")
        if target.is_running:
            self.manager.kill(target)
        self._start_again(target, deadline)

    @keyword(tags=[CRASH])
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
        self.manager.kill(target)

    def _start_again(self, target: Agent, deadline: Deadline) -> None:
        busy = portlib.busy_ports([target.http_port, target.rpc_port, target.serf_port])
        if busy:
            raise AssertionError(f"Cannot restart '{target.name}': its ports {busy} are taken by another process.")
        started = self.manager.start_process(target)
        if target.last_disruption is not None and target.last_disruption.restarted_at is None:
            target.last_disruption.restarted_at = started
        readiness.wait_until_listening(target, deadline)
        api = target if target.is_server else self.manager.cluster_server(target) or target
        since = {target.name: started} if target.is_client else {}
        self.manager.wait_ready(api, [target], since, deadline)
        logger.info(f"Nomad agent '{target.name}' is ready again after {time.time() - started:.2f} s.")

"""Keywords that start, restart, kill and stop single agents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api.deco import keyword
from robot.api.types import Secret

from nomadtest.agents import starting
from nomadtest.agents.manager import AgentManager
from nomadtest.library import CRASH, LIFECYCLE, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, resolve


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
        timeout: timedelta | None = None,
        servers: list[str] | None = None,
        plugin_config: dict[str, Any] | None = None,
        extra_hcl: str = "",
        config: dict[str, Any] | None = None,
        ports: dict[str, int] | None = None,
        wait_for_driver: bool = True,
        token: Secret | str | None = None,
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
        ``NOMAD_TOKEN``: best a ``Secret`` (`Create ACL Token` returns one; from the environment,
        ``${TOKEN: Secret}    %{MY_TOKEN}`` in the Variables section), which even ``--loglevel TRACE``
        shows as ``<secret>``; a plain string still works. No token is ever logged, not in the
        RequestsLibrary sessions' headers either. ``namespace`` uses an existing namespace (its jobs
        are left alone) instead of creating one. Arguments that configure an agent (``plugin_config``, ``ports``,
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
        timeout = resolve(timeout)
        request = starting.StartRequest(
            name,
            server,
            client,
            servers,
            plugin_config,
            extra_hcl,
            config,
            ports,
            wait_for_driver,
            token,
            namespace,
            overrides,
        )
        return starting.start_agent(self.manager, request, Deadline(timeout)).name

    @keyword(tags=[LIFECYCLE])
    def stop_nomad_server(
        self,
        agent: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta | None = None,
    ) -> None:
        """Stops an agent and removes every trace of it: processes, containers, mounts, cgroups, files.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

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
        timeout = resolve(timeout, 0.5)
        starting.stop_agents(self.manager, [REGISTRY.find(agent)], Deadline(grace), Deadline(timeout))

    @keyword(tags=[LIFECYCLE])
    def stop_all_nomad_servers(
        self, grace: timedelta = timedelta(seconds=10), timeout: timedelta | None = None
    ) -> None:
        """Stops every agent this library started, whoever owns it, as `Stop Nomad Server` does.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        Example:
        | [Teardown] | `Stop All Nomad Servers` |
        """
        timeout = resolve(timeout, 0.5)
        starting.stop_agents(self.manager, REGISTRY.agents(), Deadline(grace), Deadline(timeout))

    @keyword(tags=[LIFECYCLE])
    def restart_nomad_agent(
        self,
        agent: str | None = None,
        grace: timedelta = timedelta(seconds=10),
        timeout: timedelta | None = None,
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
        timeout = resolve(timeout)
        starting.restart_agent(self.manager, REGISTRY.find(agent), Deadline(grace), Deadline(timeout))

    @keyword(tags=[LIFECYCLE, CRASH])
    def restart_nomad_client(self, agent: str | None = None, timeout: timedelta | None = None) -> None:
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
        timeout = resolve(timeout)
        starting.restart_client(self.manager, REGISTRY.find(agent), Deadline(timeout))

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
        starting.kill_agent(self.manager, REGISTRY.find(agent))

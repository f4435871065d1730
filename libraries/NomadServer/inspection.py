"""Keywords that read an agent's address, binary, node and driver."""

from __future__ import annotations

from typing import Any

from robot.api.deco import keyword

from nomadtest import versions
from nomadtest.agents import nodes
from nomadtest.agents.launching import read_agent_version
from nomadtest.host import processes
from nomadtest.library import ASSERTION, QUERY, LibraryComponent
from nomadtest.registry import REGISTRY


class Inspection(LibraryComponent):
    """Read what an agent is and what its node reports."""

    @keyword(tags=[QUERY])
    def get_nomad_address(self, agent: str | None = None) -> str:
        """Returns the HTTP API address of the agent, like ``http://127.0.0.1:23456``.

        Example:
        | ${address} = | `Get Nomad Address` | |
        | Set Environment Variable | NOMAD_ADDR | ${address} |
        """
        return REGISTRY.find(agent).address

    @keyword(tags=[QUERY])
    def get_nomad_namespace(self, agent: str | None = None) -> str:
        """Returns the namespace the agent's jobs run in: ``default`` for an agent this run started,
        the test namespace of an attachment to an external cluster (see `Start Nomad Server`).

        Example:
        | ${namespace} = | `Get Nomad Namespace` |
        """
        return REGISTRY.find(agent).namespace or "default"

    @keyword(tags=[QUERY])
    def get_nomad_binary(self) -> str:
        """Returns the path of the Nomad binary agents run (``NOMAD_BIN`` or the library's ``nomad_bin``).

        For cross-checks with Nomad's own CLI; set ``NOMAD_ADDR`` from `Get Nomad Address`.

        Example:
        | ${nomad} = | `Get Nomad Binary` | | |
        | ${result} = | Run Process | ${nomad} | node | status | env:NOMAD_ADDR=${address} |
        """
        manager = self.library.manager
        manager.check_nomad_binary()
        return str(manager.nomad_bin)

    @keyword(tags=[QUERY])
    def get_nomad_version(self, agent: str | None = None) -> str:
        """Returns the Nomad version of the agent, like ``1.6.3``, as it reported itself when it
        became ready (``/v1/agent/self``); with no agent running, the version of the Nomad under
        test (``NOMAD_BIN`` or the external cluster).

        Tests that need a later Nomad are better tagged ``needs:nomad>=1.9.2``: they are then
        skipped, with the reason, on an older one.

        Example:
        | ${version} = | `Get Nomad Version` | |
        | Skip If | $version.startswith("1.6.") | no disconnect block before 1.8 |
        """
        return str(self._version_of(agent))

    @keyword(tags=[QUERY])
    def nomad_version_is_at_least(self, minimum: str, agent: str | None = None) -> bool:
        """Returns whether the agent's Nomad (see `Get Nomad Version`) is ``minimum`` or later, for
        expectations of Nomad's own messages and behaviour that changed between versions.

        Example:
        | ${quotes_warning} = | `Nomad Version Is At Least` | 1.10.0 |
        """
        return self._version_of(agent).at_least(minimum)

    def _version_of(self, agent: str | None) -> versions.NomadVersion:
        if agent is None and not REGISTRY.agents():
            return self.library.manager.run_nomad_version()
        found = REGISTRY.find(agent)
        if found.nomad_version is None:
            found.nomad_version = read_agent_version(found.client)
        return found.nomad_version

    @keyword(tags=[QUERY])
    def get_nomad_run_root(self) -> str:
        """Returns the run root: where every agent of this run has its run dir, ``<run_root>/<worker>/<agent>``.

        Example:
        | ${root} = | `Get Nomad Run Root` |
        """
        return str(self.library.manager.run_root)

    @keyword(tags=[QUERY])
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
            "plugin_dir": str(self.library.manager.plugin_dir),
            "driver_state_dir": str(target.driver_state_dir or ""),
            "cgroup_parent": target.cgroup_parent,
        }

    @keyword(tags=[QUERY])
    def get_nomad_node(self, agent: str | None = None) -> dict[str, Any]:
        """Returns the node of a client agent as Nomad's ``/v1/node/<id>`` describes it.

        Example:
        | ${node} = | `Get Nomad Node` | |
        | Should Be Equal | ${node}[Status] | ready |
        """
        target = REGISTRY.find(agent)
        return nodes.get_node(target.client, self._client_name(target.name))

    @keyword(tags=[QUERY])
    def get_node_id(self, agent: str | None = None) -> str:
        """Returns the node ID of a client agent.

        Example:
        | ${id} = | `Get Node Id` | client-1 |
        """
        target = REGISTRY.find(agent)
        return nodes.node_id(target.client, self._client_name(target.name))

    @staticmethod
    def _client_name(agent: str) -> str:
        target = REGISTRY.find(agent)
        if not target.is_client:
            raise AssertionError(f"Nomad agent '{target.name}' runs no client, so it has no node.")
        return target.node

    @keyword(tags=[QUERY])
    def get_driver_info(self, driver: str | None = None, agent: str | None = None) -> dict[str, Any]:
        """Returns what the node reports of a driver: ``Detected``, ``Healthy``, ``HealthDescription``,
        ``Attributes`` and ``UpdateTime``. ``driver`` defaults to the driver under test.

        Example:
        | ${info} = | `Get Driver Info` | |
        | Log | ${info}[Attributes] | |
        """
        target = REGISTRY.find(agent)
        driver = driver or target.driver
        node = self.get_nomad_node(target.name)
        info = nodes.driver_info(node, driver)
        if info is None:
            raise AssertionError(
                f"Driver '{driver}' is unknown to node '{target.name}' "
                f"(known: {', '.join(sorted(node.get('Drivers') or {}))}); "
                f"is its plugin in {self.library.manager.plugin_dir}?"
            )
        return info

    @keyword(tags=[ASSERTION])
    def driver_should_be_healthy(self, driver: str | None = None, agent: str | None = None) -> None:
        """Fails unless the driver is detected and healthy on the agent's node, with Nomad's health description.

        Example:
        | `Driver Should Be Healthy` | | |
        | `Driver Should Be Healthy` | raw_exec | client-1 |
        """
        info = self.get_driver_info(driver, agent)
        if not (info.get("Detected") and info.get("Healthy")):
            raise AssertionError(self._health(driver, agent, info, "is not healthy"))

    @keyword(tags=[ASSERTION])
    def driver_should_not_be_healthy(self, driver: str | None = None, agent: str | None = None) -> str:
        """Fails when the driver is detected and healthy; returns its health description otherwise.

        Example:
        | `Start Nomad Server` | plugin_config=${{ {'java_runtimes': ['/nowhere']} }} | wait_for_driver=${False} |
        | ${why} = | `Driver Should Not Be Healthy` | |
        | Should Contain | ${why} | no working JDK found |
        """
        info = self.get_driver_info(driver, agent)
        if info.get("Detected") and info.get("Healthy"):
            raise AssertionError(self._health(driver, agent, info, "is healthy"))
        return info.get("HealthDescription") or ""

    @staticmethod
    def _health(driver: str | None, agent: str | None, info: dict, verdict: str) -> str:
        return (
            f"Driver '{driver or REGISTRY.find(agent).driver}' {verdict}: detected={info.get('Detected')} "
            f"healthy={info.get('Healthy')}: {info.get('HealthDescription') or '(no health description)'}"
        )

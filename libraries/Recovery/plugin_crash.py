"""Keywords that crash a driver plugin and wait for Nomad to bring it back."""

from __future__ import annotations

import signal as signals
import time
from datetime import timedelta

import psutil
from robot.api import logger
from robot.api.deco import keyword

from nomadtest.agents import agentlog, crashes
from nomadtest.library import CRASH, QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, resolve


class PluginCrash(LibraryComponent):
    """Kill the driver plugin process and follow its relaunch."""

    @keyword(tags=[QUERY])
    def get_driver_plugin_process(self, agent: str | None = None, plugin: str | None = None) -> int:
        """Returns the pid of the driver plugin process the agent runs.

        The plugin is the agent's child running ``plugin``, by default
        ``nomad-driver-<driver>`` (``nomad-driver-crunjar``); the driver's per-task
        monitors are not counted. Fails when the agent runs none, or several.

        Example:
        | ${pid} = | `Get Driver Plugin Process` | |
        | ${pid} = | `Get Driver Plugin Process` | client-1 |
        """
        target = REGISTRY.find(agent)
        name = plugin or crashes.plugin_binary(target)
        found = crashes.plugin_processes(target, name)
        if len(found) != 1:
            listed = ", ".join(str(process.pid) for process in found) or "none"
            raise AssertionError(
                f"Expected one {name} process under Nomad agent '{target.name}' (pid {target.pid}), found {listed}."
            )
        return found[0].pid

    @keyword(tags=[CRASH])
    def kill_driver_plugin(self, agent: str | None = None, signal: str = "SIGKILL", plugin: str | None = None) -> int:
        """Sends ``signal`` (default ``SIGKILL``) to the agent's driver plugin process and returns its pid.

        With ``SIGKILL`` this waits until the process is gone. The agent log position and the
        time are noted, so that `Wait For Driver Plugin Restart`, `Wait Until Nomad Notices
        Driver Plugin Exit` and `Task Should Have Been Recovered` look only at what follows.

        Example:
        | ${old} = | `Kill Driver Plugin` | |
        | `Kill Driver Plugin` | signal=SIGTERM | |
        | `Kill Driver Plugin` | client-1 | |
        """
        number = crashes.parse_signal(signal)
        target = REGISTRY.find(agent)
        pid = self.get_driver_plugin_process(target.name, plugin)
        process = psutil.Process(pid)
        target.record_disruption(f"driver plugin {number.name}", pid)
        process.send_signal(number)
        if number == signals.SIGKILL:
            crashes.wait_gone(process, Deadline(10))
        logger.info(f"Sent {number.name} to driver plugin process {pid} of Nomad agent '{target.name}'.")
        return pid

    @keyword(tags=[WAIT])
    def wait_until_nomad_notices_driver_plugin_exit(
        self, agent: str | None = None, timeout: timedelta | None = None
    ) -> str:
        """Waits until the agent logs that the driver plugin killed by `Kill Driver Plugin` exited.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        Nomad's driver manager logs ``plugin process exited: driver=<driver> ... id=<pid>``
        when a plugin it launched ends, and then relaunches it. Returns that log line;
        on timeout fails with the last lines of the agent log.

        Example:
        | `Kill Driver Plugin` | |
        | ${line} = | `Wait Until Nomad Notices Driver Plugin Exit` |
        | Should Contain | ${line} | signal: killed |
        """
        timeout = resolve(timeout, 0.5)
        target = REGISTRY.find(agent)
        disruption = crashes.last_plugin_kill(target)
        deadline = Deadline(timeout)
        line = crashes.wait_for_log_line(
            target, disruption.log_offset, (crashes.PLUGIN_EXITED, f"id={disruption.pid}"), deadline
        )
        if line is None:
            raise AssertionError(
                f"The log of Nomad agent '{target.name}' shows no '{crashes.PLUGIN_EXITED}' for plugin pid "
                f"{disruption.pid} within {deadline} of the kill. Last lines:\n{agentlog.tail(target.log_path)}"
            )
        noticed = agentlog.line_time(line)
        if noticed is not None:
            logger.info(f"Timing: Nomad noticed the plugin exit {noticed - disruption.at:.3f} s after the kill.")
        return line.strip()

    @keyword(tags=[WAIT])
    def wait_for_driver_plugin_restart(
        self,
        previous_pid: int | None = None,
        agent: str | None = None,
        timeout: timedelta | None = None,
        plugin: str | None = None,
    ) -> int:
        """Waits until a new driver plugin process runs and the node reports the driver healthy again; returns its pid.

        ``previous_pid`` defaults to the plugin killed last by `Kill Driver Plugin`.
        Healthy again means the node, as the servers see it, has the driver detected
        and healthy in a fingerprint taken after the kill. The client sends driver
        health changes to the servers in batches, 5 to 10 seconds after the change, so
        this is also when Nomad's scheduler learns of it. Logs both times (``Timing:``).
        On timeout fails with the plugin processes and the driver's health as last seen.

        Example:
        | `Kill Driver Plugin` | | |
        | ${new} = | `Wait For Driver Plugin Restart` | |
        | ${new} = | `Wait For Driver Plugin Restart` | ${old} | timeout=90s |
        """
        timeout = resolve(timeout)
        target = REGISTRY.find(agent)
        name = plugin or crashes.plugin_binary(target)
        disruption = target.last_disruption
        if previous_pid is None and disruption is not None and disruption.what.startswith("driver plugin"):
            previous_pid = disruption.pid
        since = disruption.at if disruption is not None else time.time()
        deadline = Deadline(timeout)
        current = crashes.wait_for_new_plugin(target, name, previous_pid, deadline)
        seen = time.time()
        crashes.wait_driver_healthy(target, since, deadline)
        # Nomad logs "plugin started: driver=... pid=N" with its own timestamp: more exact than when we looked.
        offset = disruption.log_offset if disruption else 0
        started = agentlog.lines_with(target.log_path, offset, ("plugin started", f"pid={current.pid}"))
        relaunched = (agentlog.line_time(started[0]) if started else None) or seen
        logger.info(
            f"Timing: driver plugin {name} relaunched as pid {current.pid} {relaunched - since:.3f} s after the "
            f"kill; the node reported the driver healthy again {time.time() - since:.3f} s after the kill."
        )
        return current.pid

    @keyword(tags=[WAIT])
    def wait_until_node_reports_driver_event(
        self, text: str, agent: str | None = None, timeout: timedelta | None = None
    ) -> str:
        """Waits until the node has a ``Driver`` event about the driver under test, since the last crash,
        whose message contains ``text``; returns the message.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        The client reports a driver's health changes to the servers as node events, in
        batches sent 5 to 10 seconds after the change: ``failed to fingerprint driver`` when
        its plugin died, ``Healthy`` when the relaunched plugin fingerprinted it. On timeout
        fails with the driver events seen.

        Example:
        | `Kill Driver Plugin` | |
        | `Wait Until Node Reports Driver Event` | failed to fingerprint driver |
        """
        timeout = resolve(timeout, 0.5)
        target = REGISTRY.find(agent)
        disruption = target.last_disruption
        return crashes.wait_for_driver_event(target, text, disruption.at if disruption else 0.0, Deadline(timeout))

"""Keywords that measure the memory of the agent and of the driver plugin themselves."""

from __future__ import annotations

import psutil
from robot.api import logger
from robot.api.deco import keyword

from nomadtest.agents import crashes
from nomadtest.library import ASSERTION, PERFORMANCE, QUERY, LibraryComponent
from nomadtest.perf import usage
from nomadtest.registry import REGISTRY


class Footprint(LibraryComponent):
    """What Nomad and the driver plugin cost in memory, and whether it grows."""

    @keyword(tags=[PERFORMANCE, QUERY])
    def get_nomad_agent_memory(self, agent: str | None = None) -> int:
        """Returns the resident memory (RSS) of the ``nomad agent`` process, in bytes.

        Only the agent process: its driver plugins, executors and tasks are processes of their own.

        Example:
        | ${rss} = | `Get Nomad Agent Memory` | |
        | `Record Metric` | nomad_agent_rss | ${{ ${rss} / 2**20 }} | MiB |
        """
        target = REGISTRY.find(agent)
        if not target.is_running:
            raise AssertionError(f"Nomad agent '{target.name}' is not running.")
        rss = _rss(target.pid, f"Nomad agent '{target.name}'")
        logger.info(f"Nomad agent '{target.name}' (pid {target.pid}) holds {usage.mib(rss)} resident.")
        return rss

    @keyword(tags=[PERFORMANCE, QUERY])
    def get_driver_plugin_memory(self, agent: str | None = None) -> int:
        """Returns the resident memory (RSS) of the agent's driver plugin process, in bytes.

        The plugin is the agent's child running ``nomad-driver-<driver>`` (not the per-task
        monitors the crunjar driver starts from the same binary). A built-in driver (``java``,
        ``exec``) runs inside the agent and has no process of its own: this fails for it.
        The plugin's pid is remembered for `Driver Plugin Memory Should Not Have Grown`.

        Example:
        | ${before} = | `Get Driver Plugin Memory` |
        """
        target = REGISTRY.find(agent)
        binary = crashes.plugin_binary(target)
        found = crashes.plugin_processes(target, binary)
        if len(found) != 1:
            raise AssertionError(
                f"Nomad agent '{target.name}' has {len(found)} {binary} plugin process(es), not one: "
                f"{', '.join(str(process.pid) for process in found) or 'none'}. A built-in driver has none."
            )
        plugin = found[0]
        rss = _rss(plugin.pid, f"{binary} plugin")
        self.library.plugin_pids[target.name] = plugin.pid
        logger.info(f"{binary} plugin of '{target.name}' (pid {plugin.pid}) holds {usage.mib(rss)} resident.")
        return rss

    @keyword(tags=[PERFORMANCE, ASSERTION])
    def driver_plugin_memory_should_not_have_grown(
        self, since: int, by_more_than: str = "32 MiB", agent: str | None = None
    ) -> int:
        """Fails when the driver plugin's RSS grew by more than ``by_more_than`` since the figure ``since``.

        ``since`` is an earlier result of `Get Driver Plugin Memory` (bytes); ``by_more_than`` a
        size such as ``32 MiB``. Fails too when the plugin was restarted in between (its pid
        changed), since two processes' memory says nothing about growth. Returns the growth in
        bytes (negative when it shrank).

        Example:
        | ${before} = | `Get Driver Plugin Memory` | |
        | Run Fifty Jobs | | |
        | `Driver Plugin Memory Should Not Have Grown` | ${before} | by_more_than=32 MiB |
        """
        target = REGISTRY.find(agent)
        previous_pid = self.library.plugin_pids.get(target.name)
        now = self.get_driver_plugin_memory(agent)
        current_pid = self.library.plugin_pids[target.name]
        if previous_pid is not None and previous_pid != current_pid:
            raise AssertionError(
                f"The driver plugin of '{target.name}' was restarted (pid {previous_pid}, now {current_pid}): "
                "the memory of two processes says nothing about growth."
            )
        bound = usage.parse_size(by_more_than)
        growth = now - int(since)
        if growth > bound:
            raise AssertionError(
                f"The driver plugin's RSS grew by {usage.mib(growth)}, from {usage.mib(int(since))} to "
                f"{usage.mib(now)}: more than {usage.mib(bound)}."
            )
        logger.info(
            f"The driver plugin's RSS went from {usage.mib(int(since))} to {usage.mib(now)} "
            f"({growth / usage.MIB:+.1f} MiB)."
        )
        return growth


def _rss(pid: int | None, what: str) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.Error, TypeError, ValueError):
        raise AssertionError(f"The {what} (pid {pid}) is not running.") from None

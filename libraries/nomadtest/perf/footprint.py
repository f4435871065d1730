"""What the Nomad agent and its driver plugin hold in memory: the procedures behind Performance's footprint keywords.

``plugin_pids`` (the library's) remembers each agent's plugin pid, so that growth is only ever
measured within one plugin process.
"""

from __future__ import annotations

import psutil
from robot.api import logger

from nomadtest.agents import crashes
from nomadtest.perf import usage
from nomadtest.registry import REGISTRY


def agent_rss(agent: str | None) -> int:
    """The resident memory of the ``nomad agent`` process alone, in bytes."""
    target = REGISTRY.find(agent)
    if not target.is_running:
        raise AssertionError(f"Nomad agent '{target.name}' is not running.")
    rss = _rss(target.pid, f"Nomad agent '{target.name}'")
    logger.info(f"Nomad agent '{target.name}' (pid {target.pid}) holds {usage.mib(rss)} resident.")
    return rss


def plugin_rss(agent: str | None, plugin_pids: dict[str, int]) -> int:
    """The resident memory of the agent's one driver plugin process, in bytes; its pid goes into ``plugin_pids``."""
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
    plugin_pids[target.name] = plugin.pid
    logger.info(f"{binary} plugin of '{target.name}' (pid {plugin.pid}) holds {usage.mib(rss)} resident.")
    return rss


def plugin_growth(since: int, by_more_than: str, agent: str | None, plugin_pids: dict[str, int]) -> int:
    """How much the plugin's RSS grew since ``since`` (bytes); fails above ``by_more_than`` or after a restart."""
    target = REGISTRY.find(agent)
    previous_pid = plugin_pids.get(target.name)
    now = plugin_rss(agent, plugin_pids)
    current_pid = plugin_pids[target.name]
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

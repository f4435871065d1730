"""Keywords that measure the memory of the agent and of the driver plugin themselves."""

from __future__ import annotations

from robot.api.deco import keyword

from nomadtest.library import ASSERTION, PERFORMANCE, QUERY, LibraryComponent
from nomadtest.perf import footprint


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
        return footprint.agent_rss(agent)

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
        return footprint.plugin_rss(agent, self.library.plugin_pids)

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
        return footprint.plugin_growth(since, by_more_than, agent, self.library.plugin_pids)

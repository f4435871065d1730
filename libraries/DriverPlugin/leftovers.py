"""Keywords that check what the plugin's tasks leave on the host, with the same snapshots as Recovery's."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.library import ASSERTION, QUERY, WAIT, LibraryComponent
from nomadtest.waiting import Deadline, Pending


class Leftovers(LibraryComponent):
    """Leak checks of a plugin's tasks: processes, containers, bundles, mounts, cgroups, alloc dirs."""

    @property
    def manager(self):
        return self.library.manager

    @keyword(tags=[QUERY])
    def take_driver_snapshot(self, plugin: str | None = None) -> dict:
        """What the plugin's tasks hold on the host now, by category (see Recovery's `Take Resource Snapshot`).

        The plugin process itself is not counted; the monitors, containers and JVMs of its
        tasks, the driver's state dir and cgroups, and the tasks' alloc dirs are.

        Example:
        | ${before} = | `Take Driver Snapshot` |
        """
        return self.manager.snapshot(self.manager.find(plugin))

    @keyword(tags=[ASSERTION, WAIT])
    def driver_should_not_have_leaked(
        self, before: dict | None = None, plugin: str | None = None, timeout: timedelta = timedelta(seconds=10)
    ) -> None:
        """Fails when the plugin's tasks hold anything ``before`` did not (anything at all without it),
        once ``timeout`` has passed for the driver's cleanup; lists every item left.

        Example:
        | ${before} = | `Take Driver Snapshot` | |
        | `Destroy Driver Task` | hello | |
        | `Driver Should Not Have Leaked` | ${before} | |
        """
        session = self.manager.find(plugin)
        deadline = Deadline(timeout)
        outcome = self.manager.leftovers(session, before, deadline)
        if isinstance(outcome, Pending):
            # Worded as Recovery's leak check, which the fault catalogue counts.
            count = len(outcome.status.splitlines())
            raise AssertionError(
                f"Resources leaked ({count} item(s) still held {deadline} after the check began) by the tasks of "
                f"driver plugin '{session.name}':\n{outcome.status}"
            )
        logger.info(f"Nothing left by the tasks of driver plugin '{session.name}'.")

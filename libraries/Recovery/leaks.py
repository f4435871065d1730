"""Keywords that snapshot what tasks hold on the host and find what they leaked."""

from __future__ import annotations

import time
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.agents import crashes
from nomadtest.host import leaks
from nomadtest.library import ASSERTION, QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

# How often a leak check looks again while cleanup is still under way.
LEAK_POLL_SECONDS = 0.25
# How often a leak check asks the clients again to garbage-collect terminal allocations.
GC_INTERVAL_SECONDS = 3.0


class Leaks(LibraryComponent):
    """Snapshot what the tasks of agents hold on the host, and fail on what was left."""

    @keyword(tags=[QUERY])
    def take_resource_snapshot(self, agent: str | None = None) -> dict:
        """Returns what the tasks of the agent (of every agent when none is named) hold on the host.

        The result maps each category to a sorted list of readable items, each prefixed
        with the agent's name:

        | = Category = | = What =                                                        |
        | processes    | driver monitors, JVMs, logmons, orphaned plugins, other processes |
        | containers   | containers crun lists in the driver's crun root                 |
        | bundles      | bundle dirs in the driver's state dir                           |
        | mounts       | mounts under the agent's run dir and the driver's state dir     |
        | cgroups      | cgroups below the driver's cgroup parent, in every hierarchy    |
        | alloc_dirs   | allocation dirs in the agent's data dir                         |
        | networks     | the network namespace of a stopped client of a test network     |

        Processes counted are those in the agent's process tree, those using its run or
        state dir (command line or working dir), and those in a cgroup below the driver's
        cgroup parent; the agent itself and its current driver plugin are not.

        The snapshot also records where it looked (``scopes``), so that `Resources Should
        Not Have Leaked` looks at the same places later, even after the agent was restarted
        or stopped.

        Example:
        | ${before} = | `Take Resource Snapshot` | |
        | Should Be Empty | ${before}[containers] | |
        """
        targets = _agents(agent)
        snapshot = leaks.take_snapshot(leaks.scopes_of(targets), _agent_pids())
        logger.info("Resource snapshot:\n" + (leaks.describe(snapshot) or "(nothing held)"))
        return snapshot

    @keyword(tags=[ASSERTION, WAIT])
    def resources_should_not_have_leaked(
        self,
        before: dict | None = None,
        agent: str | None = None,
        timeout: timedelta = timedelta(seconds=30),
        collect_garbage: bool = True,
    ) -> None:
        """Fails when the tasks hold anything that was not held in ``before`` (anything at all without it).

        Looks where ``before`` looked (see `Take Resource Snapshot`), or at ``agent``,
        or at every agent. Cleanup after a task stops is asynchronous, so this waits up
        to ``timeout`` for the leftovers to go; with ``collect_garbage`` it asks each
        live client to garbage-collect its terminal allocations, which is when Nomad
        removes their dirs and mounts, first and again every few seconds while it waits (a
        client just restarted stops its lost allocations only then). The failure lists
        every item left, by category.

        Example:
        | ${before} = | `Take Resource Snapshot` | |
        | Stop Job | ${job} | |
        | `Resources Should Not Have Leaked` | ${before} | |
        | `Resources Should Not Have Leaked` | agent=client-1 | timeout=1 min |
        """
        # A snapshot taken before says where to look, unless an agent is named.
        scopes = leaks.scopes_of(_agents(agent)) if agent or before is None else leaks.scopes_of([], before)
        names = {scope.agent for scope in scopes}
        deadline = Deadline(timeout)
        collected = [float("-inf")]

        def check() -> Outcome:
            if collect_garbage and time.monotonic() - collected[0] >= GC_INTERVAL_SECONDS:
                collected[0] = time.monotonic()
                for problem in crashes.collect_garbage(agent for agent in REGISTRY.agents() if agent.name in names):
                    logger.info(problem)
            left = leaks.leaked(before, leaks.take_snapshot(scopes, _agent_pids()))
            return Pending(leaks.describe(left)) if leaks.count(left) else Done()

        outcome = poll(check, deadline, LEAK_POLL_SECONDS)
        if isinstance(outcome, Pending):
            count = len(outcome.status.splitlines())
            raise AssertionError(
                f"Resources leaked ({count} item(s) still held {deadline} after the check began):\n{outcome.status}"
            )
        logger.info(f"Nothing leaked in {', '.join(sorted(names)) or 'no agent'}.")


def _agents(name: str | None) -> list[Agent]:
    targets = [REGISTRY.find(name)] if name else REGISTRY.agents()
    attached = [target.name for target in targets if target.attached is not None]
    if attached:
        logger.info(
            f"Not looked at: {', '.join(attached)}, an external cluster whose hosts are not this run's to inspect "
            "(host checks run in tests tagged needs:local-agents)."
        )
    return [target for target in targets if target.attached is None]


def _agent_pids() -> dict[str, int | None]:
    return {agent.name: agent.pid if agent.is_running else None for agent in REGISTRY.agents()}

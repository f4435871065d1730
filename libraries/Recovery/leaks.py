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
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll, resolve

# How often a leak check looks again while cleanup is still under way. Each look reads every process of
# the host: looking sooner at first saved 5 s of a serial run but slowed a pabot run by more.
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

        | = Category = | = What =                                                                |
        | processes    | task processes, driver monitors, JVMs, logmons, orphaned plugins         |
        | containers   | in the driver's crun root; the agent's tasks' in the usual runtime roots |
        | bundles      | bundle dirs in the driver's state dir                                    |
        | mounts       | under the agent's run dir or the driver's state dir, or naming an alloc  |
        | cgroups      | below the driver's cgroup parent, or named after an allocation           |
        | alloc_dirs   | allocation dirs in the agent's data dir                                  |
        | networks     | the network namespace of a stopped client of a test network              |

        None of it depends on the driver: the agent's allocations are its alloc dirs and the
        allocation ids its log names. A process counts when it is in the agent's process tree,
        when its command line, working dir, root dir or an open file (a task's log FIFO) is in
        the agent's run dir or the driver's state dir, when its environment (``NOMAD_ALLOC_ID``),
        cgroup or command line names one of the agent's allocations, when it is in a cgroup
        below the driver's cgroup parent, or when it descends from such a process, even
        re-parented to pid 1; the agent itself and its current driver plugin do not count. A
        process of an allocation says so: ``process pid 1234 in allocation 3f2a1b2c (sleep 300)``.
        A container counts when its runtime state (bundle, root filesystem, mounts, environment,
        standard streams) names the agent's run dir or one of its allocations; the roots looked
        in are ``/run/crun`` and ``/run/runc`` (``$XDG_RUNTIME_DIR/crun`` and ``/runc`` for other
        users than root) and those the driver profile lists as ``leak_roots``.

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
        timeout: timedelta | None = None,
        collect_garbage: bool = True,
    ) -> None:
        """Fails when the tasks hold anything that was not held in ``before`` (anything at all without it).

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

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
        timeout = resolve(timeout, 0.5)
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

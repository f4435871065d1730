"""Recovery: crash injection, recovery checks and leak checks for Nomad task drivers."""

from __future__ import annotations

from nomadtest import __version__
from nomadtest.library import NomadLibrary

from .leaks import Leaks
from .plugin_crash import PluginCrash
from .run_roots import RunRoots
from .task_crash import TaskCrash

__all__ = ["Recovery", "__version__"]


class Recovery(NomadLibrary):
    """Crashes driver plugins, agents and tasks on purpose, checks how Nomad and the driver recover, and finds leaks.

    Nomad relaunches a task driver plugin that died and calls its ``RecoverTask``
    for every task it was running; a client agent that restarts does the same from
    the state in its data dir. This library makes those crashes happen and checks
    what a user would: the task still runs, in the same JVM, without a restart, its
    output still flows, and the driver said it recovered it.

    = Crashes and the agent log =

    `Kill Driver Plugin` here, and `Kill Nomad Agent`, `Restart Nomad Client` and
    `Restart Nomad Agent` of the NomadServer library, note the moment of the crash
    and how far the agent log went. The checks that follow read the agent log from
    there on only, so what an earlier crash made the agent log does not count, and
    they log how long the recovery took (lines starting with ``Timing:``).

    = Leaks =

    `Take Resource Snapshot` lists what the tasks of the agents hold on the host:
    processes (in the agent's process tree, using its run or state dir, or in a
    cgroup below the driver's cgroup parent; the agent itself and its current
    driver plugin excluded), crun containers and bundle dirs in the driver's state
    dir, mounts under the run dirs, cgroups below the driver's cgroup parent, and
    allocation dirs. `Resources Should Not Have Leaked` compares a new snapshot
    with one taken before and fails listing precisely what is left.

    = Whole runs =

    `Run Fixture Suite` runs a suite in a robot process of its own, for tests of what a
    failing or killed run leaves; `Run Root Should Be Clean` checks its run root.

    = Example =

    | ${before} =    `Take Resource Snapshot`
    | ${job} =    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    | Wait For Task State    ${job}    running
    | ${pid} =    `Get Task Process Id`    ${job}
    | `Kill Driver Plugin`
    | `Wait For Driver Plugin Restart`
    | `Task Should Have Been Recovered`    ${job}    ${pid}
    | Stop Job    ${job}
    | `Resources Should Not Have Leaked`    ${before}
    """

    def __init__(self) -> None:
        super().__init__([PluginCrash, TaskCrash, Leaks, RunRoots])

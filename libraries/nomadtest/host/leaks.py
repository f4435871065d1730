"""Snapshots of what the tasks of agents hold on the host, and the difference between two of them.

A task driver that leaks leaves processes, containers, bundle dirs, mounts, cgroups or
allocation dirs behind after its tasks are gone. Each is found by what ties it to one agent,
its *scope*, whatever the driver: the agent's run directory (alloc dirs included), process tree
and allocations (see :mod:`nomadtest.host.taskprocs`), and the containers the usual OCI runtime
roots hold for those (:mod:`nomadtest.host.ocistate`); and, for a driver that has them, its
state directory (crunjar: crun root and bundles) and its cgroup parent.

A snapshot records the scopes it looked at, so that a later snapshot compared
with it looks at the same places even when the agent was restarted (new pid) or
stopped in between. Items are readable strings that stay the same for as long
as the thing they describe exists (a process is named with its pid), so the
difference of two snapshots is exactly what appeared in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from nomadtest import profiles
from nomadtest.host import netns, ocistate, processes, proctable, taskprocs
from nomadtest.host.proctable import ALLOC_ID, ProcessInfo
from nomadtest.registry import Agent

CATEGORIES = ("processes", "containers", "bundles", "mounts", "cgroups", "alloc_dirs", "networks")
SCOPES_KEY = "scopes"
Snapshot = dict  # {category: [item, ...], "scopes": [Scope as dict, ...]}


@dataclass(frozen=True)
class Scope:
    """Where one agent's tasks leave traces on the host."""

    agent: str
    run_dir: str
    state_dir: str = ""
    cgroup_parent: str = ""
    plugin: str = ""  # the driver plugin binary's file name, e.g. nomad-driver-crunjar
    netns: str = ""  # the network namespace of a client in a test network (see nomadtest.netns)
    log: str = ""  # the agent's log, which names every allocation it ran

    @classmethod
    def of(cls, agent: Agent) -> Scope:
        return cls(
            agent=agent.name,
            run_dir=str(agent.run_dir),
            state_dir=str(agent.driver_state_dir or ""),
            cgroup_parent=agent.cgroup_parent,
            plugin=profiles.for_driver(agent.driver).plugin_binary,
            netns=agent.netns,
            log=str(agent.log_path),
        )

    @property
    def places(self) -> list[Path]:
        """The run dir, and the driver's state dir when it lies elsewhere."""
        run_dir = Path(self.run_dir)
        state_dir = Path(self.state_dir) if self.state_dir else None
        return [run_dir] + ([state_dir] if state_dir and not _inside(state_dir, run_dir) else [])

    def allocations(self) -> frozenset[str]:
        return taskprocs.agent_allocations(Path(self.run_dir), Path(self.log) if self.log else None)


@dataclass(frozen=True)
class HostView:
    """What a snapshot reads of the host once, for all its scopes."""

    mounts: list[processes.Mount]
    hierarchies: list[Path]
    table: list[ProcessInfo]
    containers: list[ocistate.Container]  # in the usual runtime roots
    alloc_cgroups: list[Path]  # cgroups named with an allocation id

    @classmethod
    def read(cls) -> HostView:
        mounts = processes.read_mounts()
        hierarchies = processes.cgroup_hierarchies(mounts)
        return cls(
            mounts=mounts,
            hierarchies=hierarchies,
            table=proctable.read_table(),
            containers=[container for root in ocistate.runtime_roots() for container in ocistate.containers(root)],
            alloc_cgroups=processes.cgroups_matching(lambda name: ALLOC_ID.search(name) is not None, hierarchies),
        )


def scopes_of(agents: Iterable[Agent], before: Snapshot | None = None) -> list[Scope]:
    """The scopes of ``agents`` plus those recorded in ``before`` whose agent is no longer given."""
    scopes = {scope.agent: scope for scope in (Scope.of(agent) for agent in agents)}
    for recorded in (before or {}).get(SCOPES_KEY, []):
        scopes.setdefault(recorded["agent"], Scope(**recorded))
    return list(scopes.values())


def take_snapshot(scopes: Iterable[Scope], agent_pids: dict[str, int | None] | None = None) -> Snapshot:
    """What is held in ``scopes`` right now, by category, each item prefixed with its agent's name.

    ``agent_pids`` maps agent names to the pid of their live ``nomad agent`` process:
    that process and its current driver plugin belong to the agent, not to its tasks,
    and are left out. Everything else in a scope is listed.
    """
    scopes = list(scopes)
    agent_pids = agent_pids or {}
    host = HostView.read()
    snapshot: Snapshot = {category: [] for category in CATEGORIES}
    for scope in scopes:
        for category, items in scope_items(scope, agent_pids.get(scope.agent), host).items():
            snapshot[category] += [f"{scope.agent}: {item}" for item in items]
    result: Snapshot = {category: sorted(set(items)) for category, items in snapshot.items()}
    result[SCOPES_KEY] = [asdict(scope) for scope in scopes]
    return result


def scope_items(scope: Scope, agent_pid: int | None, host: HostView) -> dict[str, list[str]]:
    """What the tasks of one scope hold, by category."""
    run_dir = Path(scope.run_dir)
    state_dir = Path(scope.state_dir) if scope.state_dir else None
    allocations = scope.allocations()
    mounts = [mount for place in scope.places for mount in processes.mounts_under(place, host.mounts)]
    mounts += [mount for mount in host.mounts if _ids(mount.mount_point) & allocations]
    cgroups = [str(cgroup) for cgroup in host.alloc_cgroups if _ids(cgroup.name) & allocations]
    cgroups += container_cgroups(scope.cgroup_parent, host.hierarchies) if scope.cgroup_parent else []
    items = {
        "processes": scope_processes(scope, agent_pid, host.table, allocations),
        "containers": [str(c) for c in host.containers if _names_scope(c.state, scope, allocations)],
        "bundles": [],
        "mounts": [f"{m.fs_type} mount {m.mount_point}" for m in mounts],
        "cgroups": [f"cgroup {cgroup}" for cgroup in cgroups],
        "alloc_dirs": [f"alloc dir {d}" for d in _children(run_dir / "data" / "alloc")],
        "networks": [],
    }
    if state_dir is not None:
        items["containers"] += [str(container) for container in ocistate.containers_below(state_dir)]
        items["bundles"] = [f"bundle {b}" for b in _children(state_dir / "bundles")]
    # A live agent's namespace is its host, not a leftover; once the agent is gone it is one.
    if scope.netns and agent_pid is None and (netns.NETNS_DIR / scope.netns).exists():
        items["networks"] = [f"network namespace {scope.netns}"]
    return items


def _ids(text: str) -> set[str]:
    return set(ALLOC_ID.findall(text))


def _names_scope(text: str, scope: Scope, allocations: frozenset[str]) -> bool:
    """Whether ``text`` (a container's runtime state) names a place of the scope or one of its allocations."""
    return any(processes.path_pattern(place).search(text) for place in scope.places) or bool(_ids(text) & allocations)


def leaked(before: Snapshot | None, after: Snapshot) -> dict[str, list[str]]:
    """What ``after`` holds that ``before`` did not (everything, without a ``before``)."""
    return {
        category: [item for item in after.get(category, []) if before is None or item not in before.get(category, [])]
        for category in CATEGORIES
    }


def describe(snapshot: dict) -> str:
    """One line per item, ``category: agent: item``; empty when nothing is held."""
    return "\n".join(f"{category}: {item}" for category in CATEGORIES for item in snapshot.get(category, []))


def count(snapshot: dict) -> int:
    return sum(len(snapshot.get(category, [])) for category in CATEGORIES)


# -- processes -------------------------------------------------------------------------------------


def scope_processes(
    scope: Scope, agent_pid: int | None, table: list[ProcessInfo], allocations: frozenset[str] = frozenset()
) -> list[str]:
    """Processes of the scope's tasks (see :mod:`nomadtest.host.taskprocs`), with what ties one driver's
    to the scope (its state dir and cgroup parent); without the agent and its current plugin."""
    by_pid = {info.pid: info for info in table}
    found = taskprocs.task_processes(_ties(scope, allocations), table, agent_pid)
    agent = by_pid.get(agent_pid) if agent_pid is not None else None
    return [describe_process(info, scope, by_pid) for info in found if not _agents_plugin(info, agent)]


def _agents_plugin(info: ProcessInfo, agent: ProcessInfo | None) -> bool:
    """A plugin the live agent runs belongs to it, not to a task: whichever driver is under test, the
    agent starts every plugin in its plugin dir. Its task helpers (logmon, executors) are the Nomad
    binary itself, started again."""
    if agent is None or info.ppid != agent.pid or not info.cmdline or not agent.cmdline:
        return False
    return info.cmdline[0] != agent.cmdline[0] and not is_monitor(info)


def _ties(scope: Scope, allocations: frozenset[str]) -> taskprocs.TaskTies:
    return taskprocs.TaskTies(tuple(scope.places), allocations, scope.cgroup_parent)


def is_plugin(info: ProcessInfo, plugin: str) -> bool:
    return bool(info.cmdline) and Path(info.cmdline[0]).name == plugin and not is_monitor(info)


def is_monitor(info: ProcessInfo) -> bool:
    return len(info.cmdline) >= 2 and info.cmdline[1] == "monitor"


def describe_process(info: ProcessInfo, scope: Scope, by_pid: dict[int, ProcessInfo]) -> str:
    """``<role> pid N [in allocation A] (...)``: stable for as long as the process lives."""
    if is_monitor(info):
        return f"driver monitor pid {info.pid} (container {_monitor_container(info)})"
    if is_plugin(info, scope.plugin):
        parent = by_pid.get(info.ppid)
        if parent is None or info.ppid == 1:
            return f"driver plugin pid {info.pid} (orphaned: its agent is gone)"
        return f"driver plugin pid {info.pid} (child of pid {info.ppid}: {' '.join(parent.cmdline[:2])})"
    if info.cmdline[1:2] == ("logmon",):
        return f"logmon pid {info.pid}"
    role = "JVM" if info.name == "java" else "process"
    allocation = info.allocation()
    where = f" in allocation {taskprocs.short_id(allocation)}" if allocation else ""
    return f"{role} pid {info.pid}{where} ({info.command[:160] or info.name})"


def _monitor_container(info: ProcessInfo) -> str:
    try:
        return str(json.loads(info.cmdline[2]).get("id", "?"))
    except (IndexError, ValueError, AttributeError):
        return "?"


# -- containers, cgroups, dirs ---------------------------------------------------------------------


def container_cgroups(cgroup_parent: str, hierarchies: Iterable[Path]) -> list[str]:
    """The container cgroups below ``cgroup_parent`` in every hierarchy (the parent itself may stay)."""
    found = []
    for hierarchy in hierarchies:
        found += [str(child) for child in _children(hierarchy / cgroup_parent) if child.is_dir()]
    return found


def _inside(path: Path, parent: Path) -> bool:
    return processes.path_pattern(parent).match(str(path)) is not None


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []

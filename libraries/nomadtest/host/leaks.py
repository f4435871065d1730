"""Snapshots of what the tasks of agents hold on the host, and the difference between two of them.

A task driver that leaks leaves processes, crun containers, bundle dirs, mounts,
cgroups or allocation dirs behind after its tasks are gone. Each is found by
what ties it to one agent, its *scope*: the agent's process tree and run
directory, the driver's state directory (crun root and bundles) and the
driver's cgroup parent.

A snapshot records the scopes it looked at, so that a later snapshot compared
with it looks at the same places even when the agent was restarted (new pid) or
stopped in between. Items are readable strings that stay the same for as long
as the thing they describe exists (a process is named with its pid), so the
difference of two snapshots is exactly what appeared in between.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from nomadtest.host import netns, processes
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

    @classmethod
    def of(cls, agent: Agent) -> Scope:
        return cls(
            agent=agent.name,
            run_dir=str(agent.run_dir),
            state_dir=str(agent.driver_state_dir or ""),
            cgroup_parent=agent.cgroup_parent,
            plugin=f"nomad-driver-{agent.driver}",
            netns=agent.netns,
        )


def scopes_of(agents: Iterable[Agent], before: Snapshot | None = None) -> list[Scope]:
    """The scopes of ``agents`` plus those recorded in ``before`` whose agent is no longer given."""
    scopes = {scope.agent: scope for scope in (Scope.of(agent) for agent in agents)}
    for recorded in (before or {}).get(SCOPES_KEY, []):
        scopes.setdefault(recorded["agent"], Scope(**recorded))
    return list(scopes.values())


def take_snapshot(scopes: Iterable[Scope], agent_pids: dict[str, int | None] | None = None) -> Snapshot:
    """What is held in ``scopes`` right now, by category.

    ``agent_pids`` maps agent names to the pid of their live ``nomad agent`` process:
    that process and its current driver plugin belong to the agent, not to its tasks,
    and are left out. Everything else in a scope is listed.
    """
    scopes = list(scopes)
    agent_pids = agent_pids or {}
    snapshot: Snapshot = {category: [] for category in CATEGORIES}
    mounts = processes.read_mounts()
    hierarchies = processes.cgroup_hierarchies(mounts)
    table = _process_table()
    for scope in scopes:
        run_dir = Path(scope.run_dir)
        state_dir = Path(scope.state_dir) if scope.state_dir else None
        prefix = f"{scope.agent}: "
        snapshot["processes"] += [prefix + item for item in scope_processes(scope, agent_pids.get(scope.agent), table)]
        places = [run_dir] + ([state_dir] if state_dir and not _inside(state_dir, run_dir) else [])
        for place in places:
            snapshot["mounts"] += [
                prefix + f"{m.fs_type} mount {m.mount_point}" for m in processes.mounts_under(place, mounts)
            ]
        if state_dir is not None:
            snapshot["containers"] += [prefix + f"container {c}" for c in crun_containers(state_dir / "crun")]
            snapshot["bundles"] += [prefix + f"bundle {b}" for b in _children(state_dir / "bundles")]
        if scope.cgroup_parent:
            snapshot["cgroups"] += [prefix + f"cgroup {c}" for c in container_cgroups(scope.cgroup_parent, hierarchies)]
        snapshot["alloc_dirs"] += [prefix + f"alloc dir {d}" for d in _children(run_dir / "data" / "alloc")]
        # A live agent's namespace is its host, not a leftover; once the agent is gone it is one.
        if scope.netns and agent_pids.get(scope.agent) is None and (netns.NETNS_DIR / scope.netns).exists():
            snapshot["networks"].append(prefix + f"network namespace {scope.netns}")
    result: Snapshot = {category: sorted(set(items)) for category, items in snapshot.items()}
    result[SCOPES_KEY] = [asdict(scope) for scope in scopes]
    return result


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


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...]
    cwd: str
    cgroups: str


def _process_table() -> list[ProcessInfo]:
    table = []
    for process in psutil.process_iter(["pid", "ppid", "name", "cmdline", "cwd"]):
        info = process.info
        try:
            cgroups = Path(f"/proc/{info['pid']}/cgroup").read_text()
        except OSError:
            continue  # gone already
        table.append(
            ProcessInfo(
                pid=info["pid"],
                ppid=info["ppid"] or 0,
                name=info["name"] or "",
                cmdline=tuple(info["cmdline"] or ()),
                cwd=info["cwd"] or "",
                cgroups=cgroups,
            )
        )
    return table


def scope_processes(scope: Scope, agent_pid: int | None, table: list[ProcessInfo]) -> list[str]:
    """Processes of the scope's tasks: the agent's descendants, processes using its run or state dir,
    and processes in a cgroup below the driver's cgroup parent; without the agent and its current plugin."""
    by_pid = {info.pid: info for info in table}
    patterns = [processes.path_pattern(Path(path)) for path in (scope.run_dir, scope.state_dir) if path]
    marker = f":/{scope.cgroup_parent}/" if scope.cgroup_parent else None
    found: dict[int, ProcessInfo] = {}
    if agent_pid is not None:
        for info in _descendants(agent_pid, table):
            found[info.pid] = info
    for info in table:
        command = " ".join(info.cmdline)
        uses_dirs = any(pattern.search(command) or pattern.match(info.cwd) for pattern in patterns)
        if uses_dirs or (marker is not None and marker in info.cgroups):
            found[info.pid] = info
    own = _own_lineage()
    items = []
    for info in found.values():
        if info.pid in own or info.pid == agent_pid:
            continue
        if agent_pid is not None and info.ppid == agent_pid and is_plugin(info, scope.plugin):
            continue  # the agent's current driver plugin belongs to the agent, not to a task
        items.append(describe_process(info, scope, by_pid))
    return items


def _descendants(pid: int, table: list[ProcessInfo]) -> Iterator[ProcessInfo]:
    children: dict[int, list[ProcessInfo]] = {}
    for info in table:
        children.setdefault(info.ppid, []).append(info)
    pending = list(children.get(pid, []))
    while pending:
        info = pending.pop()
        yield info
        pending += children.get(info.pid, [])


def _own_lineage() -> set[int]:
    me = psutil.Process()
    return {me.pid, *(parent.pid for parent in me.parents())}


def is_plugin(info: ProcessInfo, plugin: str) -> bool:
    return bool(info.cmdline) and Path(info.cmdline[0]).name == plugin and not is_monitor(info)


def is_monitor(info: ProcessInfo) -> bool:
    return len(info.cmdline) >= 2 and info.cmdline[1] == "monitor"


def describe_process(info: ProcessInfo, scope: Scope, by_pid: dict[int, ProcessInfo]) -> str:
    """``<role> pid N (...)``: stable for as long as the process lives."""
    if is_monitor(info):
        return f"driver monitor pid {info.pid} (container {_monitor_container(info)})"
    if is_plugin(info, scope.plugin):
        parent = by_pid.get(info.ppid)
        if parent is None or info.ppid == 1:
            return f"driver plugin pid {info.pid} (orphaned: its agent is gone)"
        return f"driver plugin pid {info.pid} (child of pid {info.ppid}: {' '.join(parent.cmdline[:2])})"
    if info.name == "java":
        return f"JVM pid {info.pid} ({' '.join(info.cmdline)[:160]})"
    if info.cmdline[1:2] == ("logmon",):
        return f"logmon pid {info.pid}"
    return f"process pid {info.pid} ({' '.join(info.cmdline)[:160] or info.name})"


def _monitor_container(info: ProcessInfo) -> str:
    try:
        return str(json.loads(info.cmdline[2]).get("id", "?"))
    except (IndexError, ValueError, AttributeError):
        return "?"


# -- containers, cgroups, dirs ---------------------------------------------------------------------


def crun_containers(crun_root: Path) -> list[str]:
    """Ids of the containers crun knows in ``crun_root`` (its ``--root`` state dir)."""
    if not crun_root.is_dir():
        return []
    listed = subprocess.run(
        ["crun", "--root", str(crun_root), "list", "--quiet"], capture_output=True, text=True, timeout=30, check=False
    )
    return listed.stdout.split()


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

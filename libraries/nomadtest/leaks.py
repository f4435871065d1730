"""Snapshots of what an agent's tasks hold on the host, and the difference between two of them.

A task driver that leaks leaves containers, monitor processes, JVMs, bundles,
mounts or cgroups behind after its tasks are gone. Each is found by what ties
it to one agent: its run directory, its driver state directory (crun root and
bundles) or its cgroup parent.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import psutil

from . import processes
from .registry import Agent

CATEGORIES = ("containers", "bundles", "monitors", "jvms", "mounts", "cgroups")
Snapshot = dict[str, list[str]]


def take_snapshot(agents: Iterable[Agent]) -> Snapshot:
    """What the tasks of ``agents`` hold right now, by category, each item a readable string."""
    snapshot: Snapshot = {category: [] for category in CATEGORIES}
    mounts = processes.read_mounts()
    hierarchies = processes.cgroup_hierarchies(mounts)
    for agent in agents:
        state_dir = agent.driver_state_dir
        if state_dir is not None:
            snapshot["containers"] += [f"{agent.name}: container {c}" for c in crun_containers(state_dir / "crun")]
            snapshot["bundles"] += [f"{agent.name}: bundle {b}" for b in _children(state_dir / "bundles")]
        snapshot["mounts"] += [
            f"{agent.name}: {m.fs_type} mount {m.mount_point}"
            for m in processes.mounts_under(agent.run_dir / "data" / "alloc", mounts)
        ]
        if agent.cgroup_parent:
            snapshot["cgroups"] += [
                f"{agent.name}: cgroup {path}" for path in container_cgroups(agent.cgroup_parent, hierarchies)
            ]
        for process in task_processes(agent):
            kind = "monitors" if _is_monitor(process) else "jvms"
            snapshot[kind].append(f"{agent.name}: {_describe(process)}")
    return {category: sorted(set(items)) for category, items in snapshot.items()}


def leaked(before: Snapshot | None, after: Snapshot) -> Snapshot:
    """What ``after`` holds that ``before`` did not (everything, without a ``before``)."""
    return {
        category: [item for item in after.get(category, []) if before is None or item not in before.get(category, [])]
        for category in CATEGORIES
    }


def describe(leaks: Snapshot) -> str:
    return "\n".join(f"{category}: {item}" for category in CATEGORIES for item in leaks.get(category, []))


def crun_containers(crun_root: Path) -> list[str]:
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


def task_processes(agent: Agent) -> list[psutil.Process]:
    """Driver monitors and task JVMs of ``agent``: processes that name its run dir, or run in its cgroups."""
    found: dict[int, psutil.Process] = {}
    for process in processes.processes_using(agent.run_dir):
        if _is_monitor(process) or _is_java(process):
            found[process.pid] = process
    if agent.cgroup_parent:
        marker = f"/{agent.cgroup_parent}/"
        for process in psutil.process_iter(["name"]):
            try:
                if _is_java(process) and marker in Path(f"/proc/{process.pid}/cgroup").read_text():
                    found[process.pid] = process
            except (psutil.Error, OSError):
                continue
    return list(found.values())


def _is_monitor(process: psutil.Process) -> bool:
    try:
        return " monitor " in f" {' '.join(process.cmdline()[:2])} "
    except psutil.Error:
        return False


def _is_java(process: psutil.Process) -> bool:
    try:
        return process.name() == "java"
    except psutil.Error:
        return False


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid} {' '.join(process.cmdline())[:160]}"
    except psutil.Error:
        return f"pid {process.pid} (exited)"


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []

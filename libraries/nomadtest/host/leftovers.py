"""What runs left on the host: one listing for the isolation suites (a fixture run's root) and for
``scripts/check-leftovers.py`` (the whole run's)."""

from __future__ import annotations

from pathlib import Path

from nomadtest import profiles
from nomadtest.host import ocistate, processes, proctable, taskprocs
from nomadtest.host.proctable import ProcessInfo
from nomadtest.host.runroot import ARTIFACTS_DIR, STATE_DIR


def find(root: Path, host_wide: bool = False) -> list[str]:
    """What agents run under ``root`` left: processes, containers, mounts, run and artifact dirs.

    ``host_wide`` adds what no path ties to a run root: processes of any Nomad allocation (by
    ``NOMAD_ALLOC_ID`` or an allocation's cgroup), JVMs below the cgroup parents the driver profiles
    give agents, containers in the usual OCI runtime roots, cgroups named after allocations and
    those cgroup parents, anywhere on the host. Only a check after the whole run may ask for them:
    during a run they belong to agents still running.
    """
    known = profiles.known()
    table = proctable.read_table()
    using = processes_under(root, table)
    found = [f"process {info.pid}: {info.command[:160]}" for info in using]
    mounts = processes.read_mounts()
    found += [f"mount {m.mount_point}" for m in processes.mounts_under(root, mounts)]
    state_dirs = sorted({profile.state_dir_in_run_dir() for profile in known} - {""})
    for state_dir in (place for relative in state_dirs for place in root.glob(f"*/*/{relative}")):
        found += [str(container) for container in ocistate.containers_below(state_dir)]
    if root.is_dir():
        for directory in sorted(root.glob("*/*")):
            if not directory.is_dir() or directory.parent.name == STATE_DIR:
                continue
            kind = "artifact dir" if directory.parent.name == ARTIFACTS_DIR else "run dir"
            found.append(f"{kind} {directory}")
    if host_wide:
        prefixes = sorted({profile.cgroup_parent_prefix() for profile in known} - {""})
        found += _host_wide_processes(table, prefixes, listed={info.pid for info in using})
        found += [str(container) for root in ocistate.runtime_roots() for container in ocistate.containers(root)]
        hierarchies = processes.cgroup_hierarchies(mounts)
        found += [f"cgroup {c}" for c in processes.cgroups_matching(taskprocs.ALLOCATION_CGROUP.match, hierarchies)]
        for hierarchy in hierarchies:
            found += [f"cgroup {c}" for prefix in prefixes for c in hierarchy.glob(f"{prefix}*") if c.is_dir()]
    return found


def processes_under(root: Path, table: list[ProcessInfo]) -> list[ProcessInfo]:
    """Processes whose command line names ``root`` or whose working dir, root dir or an open file is below it."""
    pattern = processes.path_pattern(root)
    own = proctable.own_lineage()
    return [
        info
        for info in table
        if info.pid not in own and (pattern.search(info.command) or any(pattern.match(p) for p in info.places()))
    ]


def _host_wide_processes(table: list[ProcessInfo], prefixes: list[str], listed: set[int]) -> list[str]:
    """JVMs below the agents' cgroup parents and processes of any allocation, each once, none of ``listed``."""
    jvms = [info for info in table if info.name == "java" and any(f"/{prefix}" in info.cgroups for prefix in prefixes)]
    jvms = [info for info in jvms if info.pid not in listed]
    listed = listed | {info.pid for info in jvms}
    tasks = [info for info in taskprocs.allocation_processes(table) if info.pid not in listed]
    return [f"container JVM {info.pid}: {info.command[:160]}" for info in jvms] + [
        taskprocs.describe_allocation_process(info) for info in tasks
    ]

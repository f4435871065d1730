"""What runs left on the host: one listing for the isolation suites (a fixture run's root) and for
``scripts/check-leftovers.py`` (the whole run's)."""

from __future__ import annotations

from pathlib import Path

from nomadtest.host import leaks, ocistate, processes, proctable, taskprocs
from nomadtest.host.proctable import ProcessInfo
from nomadtest.host.runroot import ARTIFACTS_DIR, CRUNJAR_CGROUP_PREFIX, STATE_DIR


def find(root: Path, host_wide: bool = False) -> list[str]:
    """What agents run under ``root`` left: processes, containers, mounts, run and artifact dirs.

    ``host_wide`` adds what no path ties to a run root: processes of any Nomad allocation (by
    ``NOMAD_ALLOC_ID`` or an allocation's cgroup), JVMs in crunjar container cgroups, containers in
    the usual OCI runtime roots, cgroups named after allocations and the crunjar cgroups, anywhere
    on the host. Only a check after the whole run may ask for them: during a run they belong to
    agents still running.
    """
    table = proctable.read_table()
    using = processes_under(root, table)
    found = [f"process {info.pid}: {info.command[:160]}" for info in using]
    mounts = processes.read_mounts()
    found += [f"mount {m.mount_point}" for m in processes.mounts_under(root, mounts)]
    found += [f"container {c} in {crun}" for crun in root.glob("*/*/crunjar/crun") for c in leaks.crun_containers(crun)]
    if root.is_dir():
        for directory in sorted(root.glob("*/*")):
            if not directory.is_dir() or directory.parent.name == STATE_DIR:
                continue
            kind = "artifact dir" if directory.parent.name == ARTIFACTS_DIR else "run dir"
            found.append(f"{kind} {directory}")
    if host_wide:
        found += _host_wide_processes(table, listed={info.pid for info in using})
        found += [str(container) for root in ocistate.runtime_roots() for container in ocistate.containers(root)]
        hierarchies = processes.cgroup_hierarchies(mounts)
        found += [f"cgroup {c}" for c in processes.cgroups_matching(taskprocs.ALLOCATION_CGROUP.match, hierarchies)]
        for hierarchy in hierarchies:
            found += [f"cgroup {c}" for c in hierarchy.glob(f"{CRUNJAR_CGROUP_PREFIX}*") if c.is_dir()]
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


def _host_wide_processes(table: list[ProcessInfo], listed: set[int]) -> list[str]:
    """JVMs in crunjar container cgroups and processes of any allocation, each once and not again when ``listed``."""
    jvms = [info for info in table if info.name == "java" and f"/{CRUNJAR_CGROUP_PREFIX}" in info.cgroups]
    jvms = [info for info in jvms if info.pid not in listed]
    listed = listed | {info.pid for info in jvms}
    tasks = [info for info in taskprocs.allocation_processes(table) if info.pid not in listed]
    return [f"container JVM {info.pid}: {info.command[:160]}" for info in jvms] + [
        taskprocs.describe_allocation_process(info) for info in tasks
    ]

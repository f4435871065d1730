"""What runs left on the host: one listing for the isolation suites (a fixture run's root) and for
``scripts/check-leftovers.py`` (the whole run's)."""

from __future__ import annotations

from pathlib import Path

import psutil

from nomadtest.host import leaks, processes
from nomadtest.host.runroot import ARTIFACTS_DIR, CRUNJAR_CGROUP_PREFIX, STATE_DIR


def find(root: Path, host_wide: bool = False) -> list[str]:
    """What agents run under ``root`` left: processes, containers, mounts, run and artifact dirs.

    ``host_wide`` adds what no path ties to a run root: JVMs in crunjar container cgroups and the
    crunjar cgroups themselves, anywhere on the host. Only a check after the whole run may ask for
    them: during a run they belong to agents still running.
    """
    found = [f"process {p.pid}: {_command(p)}" for p in processes.processes_using(root)]
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
        found += _container_jvms()
        for hierarchy in processes.cgroup_hierarchies(mounts):
            found += [f"cgroup {c}" for c in hierarchy.glob(f"{CRUNJAR_CGROUP_PREFIX}*") if c.is_dir()]
    return found


def _container_jvms() -> list[str]:
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] != "java":
                continue
            if f"/{CRUNJAR_CGROUP_PREFIX}" in Path(f"/proc/{process.pid}/cgroup").read_text():
                found.append(f"container JVM {process.pid}: {_command(process)}")
        except (psutil.Error, OSError):
            continue
    return found


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())[:160]
    except psutil.Error:
        return "(gone)"

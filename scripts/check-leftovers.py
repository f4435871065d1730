"""After a whole test run: fail if anything the agents or their tasks started is still on the host.

Looks for what every run leaves when cleanup is broken: processes naming the run
root or holding a place below it (agents, plugins, monitors, logmon, tasks; by command
line, working dir, root dir or open file), JVMs in crunjar container cgroups, crun
containers under the run root, mounts under it, crunjar cgroups, and run directories;
what any driver's tasks leave wherever they are: processes of any allocation
(``NOMAD_ALLOC_ID`` in their environment, or a cgroup named after the allocation),
containers in the usual OCI runtime roots (``/run/crun``, ``/run/runc``, the driver
profile's ``leak_roots``) and cgroups named after allocations; and what a container
run (scripts/container-run.sh) could leave: podman containers, mounts under podman's
storage, podman's cgroups. Prints one line per leftover and exits 1 if there is any.

With ``--baseline FILE``, run once before the tests (``--save``) and once after,
only what appeared during the run counts: leftovers of earlier runs on a shared
host are reported but do not fail this one.

With ``--sweep``, first clean up after robot processes of the run that died before their
teardowns (a pabot worker killed at ``--processtimeout``), as the next agent start would:
only what even the sweep cannot remove is left behind.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from nomadtest.host import leftovers, netns, processes, runroot, sweep

# Where rootful podman keeps container root filesystems and run state.
PODMAN_STORAGE = (Path("/var/lib/containers/storage"), Path("/run/containers/storage"))
PODMAN_TIMEOUT = 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-root", type=Path, default=runroot.run_root())
    parser.add_argument("--baseline", type=Path, help="what was there before the run")
    parser.add_argument("--save", action="store_true", help="write the baseline instead of checking")
    parser.add_argument("--sweep", action="store_true", help="first clean up after robot processes that died")
    args = parser.parse_args()
    if args.sweep:
        for line in sweep.sweep(args.run_root):
            print(f"swept: {line}")
    found = leftovers.find(args.run_root, host_wide=True) + podman_leftovers() + network_leftovers()
    if args.save:
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        args.baseline.write_text(json.dumps(found, indent=1))
        return 0
    earlier = set(json.loads(args.baseline.read_text())) if args.baseline and args.baseline.is_file() else set()
    for item in found:
        print(f"{'left by an earlier run' if item in earlier else 'left behind'}: {item}")
    new = [item for item in found if item not in earlier]
    print(f"leftover check of {args.run_root}: {len(new)} item(s) left behind by this run")
    return 1 if new else 0


def network_leftovers() -> list[str]:
    """Test networks of multi-node clusters: namespaces, bridges and veth ends named with the netns prefix."""
    found = [f"network namespace {name}" for name in netns.namespaces()]
    try:
        return found + [f"link {name}" for name in netns.links()]
    except netns.NetworkError as error:
        return [*found, f"links not listed: {error}"]


def podman_leftovers() -> list[str]:
    """Podman containers, mounts in podman's storage and libpod cgroups: none when podman is absent."""
    if shutil.which("podman") is None:
        return []
    listing = subprocess.run(
        ["podman", "ps", "--all", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Status}}"],
        capture_output=True,
        text=True,
        timeout=PODMAN_TIMEOUT,
        check=False,
    )
    found = [f"podman container {line}" for line in listing.stdout.splitlines() if line.strip()]
    mounts = processes.read_mounts()
    for storage in PODMAN_STORAGE:
        found += [f"mount {m.mount_point}" for m in processes.mounts_under(storage, mounts)]
    for hierarchy in processes.cgroup_hierarchies(mounts):
        found += [f"cgroup {c}" for pattern in ("libpod*", "machine.slice/libpod*") for c in hierarchy.glob(pattern)]
    return found


if __name__ == "__main__":
    sys.exit(main())

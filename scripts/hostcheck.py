"""Host prerequisites: `doctor` checks each one, `fix-cgroups` prepares cgroups for crun.

Standard library only, so it runs before the virtualenv exists.

crun 1.8 refuses every container on a hybrid cgroup host whose cgroup2 hierarchy
holds a controller ("cgroups in hybrid mode not supported, drop all controllers
from cgroupv2"). Such a controller is usually unused (hugetlb); binding it to a
v1 hierarchy of its own empties the v2 one, and crun then works.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
JDK_SEARCH_DIRS = (Path("/usr/lib/jvm"), Path("/opt/java"))
CONTAINER_HOST_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc")
COMMAND_TIMEOUT = 30


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    # Needed by some targets only (make test-e2e-container): a failure is shown, not counted.
    optional: bool = False

    def __str__(self) -> str:
        mark = " OK " if self.ok else " -- " if self.optional else "FAIL"
        line = f"[{mark}] {self.name}: {self.detail}"
        return line if self.ok else f"{line}\n       fix: {self.fix}"


@dataclass
class CgroupLayout:
    mode: str  # "unified", "hybrid" or "legacy"
    v2_mount: Path | None
    v2_controllers: list[str]

    @property
    def crun_compatible(self) -> bool:
        return self.mode != "hybrid" or not self.v2_controllers


def parse_cgroup_mounts(mountinfo: str) -> tuple[Path | None, bool]:
    """The cgroup2 mount point (if any) and whether any cgroup v1 hierarchy is mounted."""
    v2_mount, has_v1 = None, False
    for line in mountinfo.splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "cgroup2":
            v2_mount = Path(fields[4])
        elif fstype == "cgroup":
            has_v1 = True
    return v2_mount, has_v1


def read_cgroup_layout(mountinfo: str | None = None) -> CgroupLayout:
    v2_mount, has_v1 = parse_cgroup_mounts(mountinfo or Path("/proc/self/mountinfo").read_text())
    if v2_mount is None:
        return CgroupLayout("legacy", None, [])
    if not has_v1:
        return CgroupLayout("unified", v2_mount, [])
    return CgroupLayout("hybrid", v2_mount, (v2_mount / "cgroup.controllers").read_text().split())


def fix_command(controller: str) -> str:
    return f"mkdir -p {CGROUP_ROOT / controller} && mount -t cgroup -o {controller} cgroup {CGROUP_ROOT / controller}"


def fix_cgroups() -> int:
    layout = read_cgroup_layout()
    if layout.crun_compatible:
        print(f"cgroups: {layout.mode} layout that crun accepts, nothing to prepare")
        return 0
    if os.geteuid() != 0:
        commands = " && ".join(fix_command(c) for c in layout.v2_controllers)
        print(
            f"cgroups: controllers {layout.v2_controllers} in the hybrid v2 hierarchy block crun;"
            f" as root run: {commands}"
        )
        return 1
    for controller in layout.v2_controllers:
        print(
            f"cgroups: moving {controller} from {layout.v2_mount} to its own v1 hierarchy, so crun can start containers"
        )
        subprocess.run(["sh", "-c", fix_command(controller)], check=True)
    return 0


def check_root() -> Check:
    if os.geteuid() == 0:
        return Check("root", True, "running as root")
    return Check(
        "root", False, f"running as uid {os.geteuid()}", "run the tests as root (crun and Nomad clients need it)"
    )


def check_cgroups() -> Check:
    layout = read_cgroup_layout()
    if layout.crun_compatible:
        return Check("cgroups", True, f"{layout.mode} layout usable by crun")
    fixes = " && ".join(fix_command(c) for c in layout.v2_controllers)
    return Check(
        "cgroups",
        False,
        f"hybrid layout with controllers {', '.join(layout.v2_controllers)} in {layout.v2_mount}:"
        " crun refuses containers",
        f"make deps (runs: {fixes})",
    )


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)


def check_oci_runtime(name: str) -> Check:
    """An OCI runtime the driver can use (crun by default, runc by choice), with its version."""
    path = shutil.which(name)
    if path is None:
        return Check(name, False, "not found on PATH", f"make deps (apt-get install {name})")
    version = run([path, "--version"]).stdout.splitlines()[0]
    return Check(name, True, f"{version} ({path})")


def check_crun_container() -> Check:
    crun = shutil.which("crun")
    if crun is None:
        return Check("crun container", False, "crun missing", "make deps")
    container_id = f"doctor-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="crun-doctor-") as bundle:
        write_probe_bundle(Path(bundle), container_id)
        result = run([crun, "--root", f"{bundle}/state", "run", "--bundle", bundle, container_id])
        run([crun, "--root", f"{bundle}/state", "delete", "--force", container_id])
    remove_cgroup_dirs("crunjar-doctor")
    if result.returncode == 0:
        return Check("crun container", True, "started and ran /bin/true in a read-only container")
    return Check(
        "crun container",
        False,
        f"crun exited {result.returncode}: {result.stderr.strip()}",
        "make deps, then make doctor",
    )


def write_probe_bundle(bundle: Path, container_id: str) -> None:
    rootfs = bundle / "rootfs"
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    ]
    for host_dir in CONTAINER_HOST_DIRS:
        if Path(host_dir).is_dir():
            (rootfs / host_dir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            mounts.append({"destination": host_dir, "type": "bind", "source": host_dir, "options": ["rbind", "ro"]})
    spec = {
        "ociVersion": "1.0.0",
        "process": {"user": {"uid": 65534, "gid": 65534}, "args": ["/bin/true"], "cwd": "/", "noNewPrivileges": True},
        "root": {"path": "rootfs", "readonly": True},
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount")],
            "cgroupsPath": f"/crunjar-doctor/{container_id}",
        },
    }
    (bundle / "config.json").write_text(json.dumps(spec))


def remove_cgroup_dirs(name: str) -> None:
    """Remove the cgroup named ``name``, children first, from every mounted hierarchy; best effort."""
    for hierarchy in [CGROUP_ROOT, *CGROUP_ROOT.iterdir()]:
        leftover = hierarchy / name
        if not leftover.is_dir():
            continue
        for directory, _, _ in sorted(os.walk(leftover), key=lambda entry: -entry[0].count("/")):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


def discover_jdks() -> list[Path]:
    candidates = [d for base in JDK_SEARCH_DIRS if base.is_dir() for d in sorted(base.iterdir())]
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    homes: dict[Path, Path] = {}
    for candidate in candidates:
        if (candidate / "bin" / "java").is_file():
            homes.setdefault(candidate.resolve(), candidate)
    return list(homes.values())


def check_jdks() -> list[Check]:
    homes = discover_jdks()
    if not homes:
        searched = ", ".join(str(d) for d in JDK_SEARCH_DIRS) + ", $JAVA_HOME"
        return [Check("JDK", False, f"none found in {searched}", "make deps (apt-get install openjdk-17-jdk-headless)")]
    checks = []
    for home in homes:
        result = run([str(home / "bin" / "java"), "-version"])
        first_line = (result.stderr or result.stdout).strip().splitlines()[0:1]
        if result.returncode == 0 and first_line:
            checks.append(Check("JDK", True, f"{first_line[0]} ({home})"))
        else:
            checks.append(
                Check("JDK", False, f"{home}/bin/java -version failed: {result.stderr.strip()}", "reinstall it")
            )
    return checks


def profile_java_runtimes() -> list[Path]:
    """The JDK homes the crunjar profile gives the driver (its java_runtimes), set up by install-jdks.sh."""
    profile = Path(__file__).resolve().parents[1] / "resources" / "drivers" / "crunjar.toml"
    with profile.open("rb") as file:
        return [Path(home) for home in tomllib.load(file).get("plugin_config", {}).get("java_runtimes", [])]


def check_java_matrix() -> list[Check]:
    """One line per Java version of the runtime matrix, with what its java -version says."""
    checks = []
    for home in profile_java_runtimes():
        name = f"Java {home.name}"
        java = home / "bin" / "java"
        if not os.access(java, os.X_OK):
            checks.append(Check(name, False, f"{java} is missing", "make deps (scripts/install-jdks.sh)"))
            continue
        result = run([str(java), "-version"])
        first_line = (result.stderr or result.stdout).strip().splitlines()[0:1]
        if result.returncode == 0 and first_line:
            checks.append(Check(name, True, f"{first_line[0]} ({home} -> {home.resolve()})"))
        else:
            checks.append(Check(name, False, f"{java} -version failed: {result.stderr.strip()}", "make deps"))
    return checks


def check_executable(name: str, path: str, version_args: list[str], fix: str) -> Check:
    if not os.access(path, os.X_OK):
        return Check(name, False, f"{path} is missing", fix)
    result = run([path, *version_args])
    output = (result.stdout or result.stderr).strip().splitlines()
    if result.returncode != 0 or not output:
        return Check(name, False, f"{path} does not run: {result.stderr.strip()}", fix)
    return Check(name, True, f"{output[0]} ({path})")


# CI builds and proves this Nomad, the last release under MPL-2.0; from v1.7.0 on Nomad is BUSL-1.1.
PROVEN_NOMAD = (1, 6, 3)
FIRST_BUSL_NOMAD = (1, 7, 0)


def nomad_licence(version_line: str) -> str:
    """What the first line of ``nomad version`` means for this project: licence and whether CI proves it."""
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", version_line)
    if match is None:
        return "version not recognised"
    version = tuple(int(part) for part in match.groups())
    licence = "BUSL-1.1" if version >= FIRST_BUSL_NOMAD else "MPL-2.0"
    if version == PROVEN_NOMAD:
        return f"{licence}, the version CI proves"
    if version > PROVEN_NOMAD:
        return f"{licence}, newer than the 1.6.3 CI proves: tests needing it run, templates follow it"
    return f"{licence}, older than the 1.6.3 CI proves"


def check_nomad(path: str) -> Check:
    check = check_executable("nomad", path, ["version"], "make nomad (or NOMAD_BIN=/path/to/nomad)")
    if check.ok:
        line = check.detail.split(" (", 1)[0]
        return Check(check.name, True, f"{line} ({nomad_licence(line)}; {path})")
    return check


def check_go() -> Check:
    go = shutil.which("go")
    if go is None:
        return Check(
            "go", False, "not found on PATH", "install Go 1.25 or newer (needed to build Nomad and the driver)"
        )
    return Check("go", True, run([go, "version"]).stdout.strip())


def check_container_host(layout: CgroupLayout | None = None) -> list[Check]:
    """What `make image` and `make test-e2e-container` need of the host: root, podman, mmdebstrap, cgroups."""
    layout = layout or read_cgroup_layout()
    checks = []
    for tool in ("podman", "mmdebstrap"):
        path = shutil.which(tool)
        if path is None:
            checks.append(Check(tool, False, "not found on PATH", "make image (runs scripts/deps.sh image)", True))
        else:
            version = (run([path, "--version"]).stdout.strip().splitlines() or ["?"])[0]
            checks.append(Check(tool, True, f"{version} ({path})", optional=True))
    # The container is privileged and shares the host's hierarchies (--cgroupns host): crun in it
    # creates the tasks' cgroups beside the host's, so only a rootful podman can run it.
    shared = {
        "unified": "cgroup2 hierarchy shared with the container",
        "hybrid": "v1 and cgroup2 hierarchies shared with the container (scripts/container-run.sh binds cgroup2)",
        "legacy": "v1 hierarchies shared with the container",
    }[layout.mode]
    if os.geteuid() == 0:
        checks.append(Check("container cgroups", True, shared, optional=True))
    else:
        checks.append(Check("container cgroups", False, "rootless podman cannot share them", "run as root", True))
    return checks


def doctor(nomad: str, driver: str) -> int:
    checks = [
        check_root(),
        check_cgroups(),
        check_oci_runtime("crun"),
        check_crun_container(),
        check_oci_runtime("runc"),
        *check_jdks(),
        *check_java_matrix(),
        check_go(),
        check_nomad(nomad),
    ]
    driver_built = os.access(driver, os.X_OK)
    checks.append(
        Check("crunjar driver", driver_built, driver if driver_built else f"{driver} is missing", "make driver")
    )
    jars = sorted(Path("jars/build").glob("*.jar"))
    checks.append(
        Check("test JARs", bool(jars), f"{len(jars)} built in jars/build" if jars else "none built", "make jars")
    )
    checks += check_container_host()
    for check in checks:
        print(check)
    failed = sum(not check.ok and not check.optional for check in checks)
    print(f"{len(checks) - failed} checks passed, {failed} failed")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    doctor_parser = commands.add_parser("doctor", help="check every prerequisite")
    doctor_parser.add_argument("--nomad", default="bin/nomad")
    doctor_parser.add_argument("--driver", default="bin/plugins/nomad-driver-crunjar")
    commands.add_parser("fix-cgroups", help="prepare cgroups for crun (root)")
    args = parser.parse_args()
    if args.command == "doctor":
        return doctor(args.nomad, args.driver)
    return fix_cgroups()


if __name__ == "__main__":
    sys.exit(main())

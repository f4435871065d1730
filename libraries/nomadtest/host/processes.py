"""Host-level primitives for starting agents and for removing everything they left behind.

Nomad and task drivers deliberately leave things that outlive the agent:
executors and driver monitors detach into their own sessions, crun containers
live on their own, Nomad mounts a tmpfs ``secrets/`` and bind mounts into alloc
dirs, and container cgroups stay until someone removes them. The functions here
find those by what they have in common with one agent: its run directory,
its crun root and its cgroup parent.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MOUNTINFO = Path("/proc/self/mountinfo")


def start_process(argv: list[str], log_path: Path, cwd: Path) -> subprocess.Popen:
    """Start ``argv`` in its own session with stdout and stderr appended to ``log_path``.

    A session of its own keeps the agent out of Robot's process group (so a Ctrl-C
    in the terminal does not reach it before teardowns run) and gives it a group
    to signal as a whole.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=cwd, start_new_session=True)


def process_create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def process_started(pid: int) -> float | None:
    """Seconds after boot at which ``pid`` started (``/proc/<pid>/stat``).

    psutil's ``create_time`` adds the boot time that the kernel derives from the wall clock, so it
    moves by whole seconds when the clock is stepped; this does not, which makes it the identity to
    compare: a live run judged dead by a moved clock would have its agents swept from under it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the name (which may hold spaces and parentheses) start with the third, state;
    # the 22nd is the start in clock ticks.
    return int(stat[stat.rindex(")") + 2 :].split()[19]) / CLOCK_TICKS


def is_same_process(pid: int, create_time: float | None, started: float | None = None) -> bool:
    """True when ``pid`` still runs and is the process that had ``started`` (seconds after boot) or, in
    records without it, ``create_time`` (not a reused pid).

    ``create_time`` alone may differ by one whole second, the jitter of the boot time the kernel
    reports as the clock is adjusted. A zombie has exited: the robot run it was must be swept even
    before its parent reaps it.
    """
    current = process_create_time(pid)
    if current is None or not is_alive(pid):
        return False
    if started is not None:
        return process_started(pid) == started
    if create_time is None:
        return True
    difference = current - create_time
    return abs(round(difference)) <= 1 and abs(difference - round(difference)) < 0.005


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie waiting to be reaped has exited and counts as gone."""
    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def path_pattern(path: Path) -> re.Pattern[str]:
    """Matches ``path`` itself or anything below it, not a sibling that merely shares its prefix."""
    return re.compile(re.escape(str(path)) + r"(?![\w.-])")


def processes_using(path: Path) -> list[psutil.Process]:
    """Processes whose command line or working directory is ``path`` or below it."""
    pattern = path_pattern(path)
    own = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "cwd"]):
        if process.pid in own:
            continue
        cmdline = " ".join(process.info.get("cmdline") or ())
        cwd = process.info.get("cwd") or ""
        if pattern.search(cmdline) or pattern.match(cwd):
            found.append(process)
    return found


def with_descendants(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    everything: dict[int, psutil.Process] = {}
    for process in processes:
        everything[process.pid] = process
        try:
            for child in process.children(recursive=True):
                everything[child.pid] = child
        except psutil.Error:
            continue
    return list(everything.values())


def interrupt(pid: int, create_time: float | None, grace: float, started: float | None = None) -> bool:
    """SIGINT ``pid`` and wait up to ``grace`` seconds for it to exit; True when it did."""
    if not is_same_process(pid, create_time, started):
        return True
    try:
        process = psutil.Process(pid)
        process.send_signal(signal.SIGINT)
        process.wait(grace)
        return True
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False


def kill_everything(roots: list[psutil.Process], path: Path, rounds: int = 5) -> list[str]:
    """SIGKILL ``roots``, their descendants and every process using ``path``, until none is left.

    Several rounds because a dying executor or monitor may have forked just before
    the kill. Returns descriptions of processes that survived.
    """
    survivors: list[psutil.Process] = []
    for _ in range(rounds):
        alive = [process for process in roots if _running(process)]
        targets = with_descendants(alive + processes_using(path))
        if not targets:
            return []
        for process in targets:
            with contextlib.suppress(psutil.Error):
                process.kill()
        _, survivors = psutil.wait_procs(targets, timeout=3)
        roots = []
    return [_describe(process) for process in survivors if _running(process)]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid} ({' '.join(process.cmdline())[:200]})"
    except psutil.Error:
        return f"pid {process.pid}"


@dataclass(frozen=True)
class Mount:
    mount_id: int
    mount_point: str
    fs_type: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 7 or "-" not in fields:
            continue
        separator = fields.index("-", 6)
        mounts.append(Mount(int(fields[0]), _unescape(fields[4]), fields[separator + 1]))
    return mounts


def read_mounts() -> list[Mount]:
    return parse_mountinfo(MOUNTINFO.read_text())


def mounts_under(path: Path, mounts: list[Mount]) -> list[Mount]:
    """Mounts at or below ``path``, deepest first and, on one point, the latest mount first."""
    # The kernel lists mount points with symlinks resolved: a run root reached through a link
    # holds Nomad's secrets mounts under its real path.
    pattern = path_pattern(Path(os.path.realpath(path)))
    below = [mount for mount in mounts if pattern.match(mount.mount_point)]
    return sorted(below, key=lambda mount: (mount.mount_point.count("/"), mount.mount_id), reverse=True)


def unmount_all(path: Path, read: Callable[[], list[Mount]] = read_mounts) -> list[str]:
    """Unmount everything at or below ``path``; returns the mount points that stayed."""
    for _ in range(10):
        mounts = mounts_under(path, read())
        if not mounts:
            return []
        for mount in mounts:
            point = mount.mount_point
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                # Still busy (a process we could not kill holds it): detach it so the dir can go.
                subprocess.run(["umount", "-l", point], capture_output=True)
    return [mount.mount_point for mount in mounts_under(path, read())]


def cgroup_hierarchies(mounts: list[Mount]) -> list[Path]:
    """Mount points of every cgroup v1 controller hierarchy and of the unified (v2) one."""
    return [Path(mount.mount_point) for mount in mounts if mount.fs_type in ("cgroup", "cgroup2")]


def cgroups_matching(matches: Callable[[str], bool], hierarchies: Iterable[Path], depth: int = 4) -> list[Path]:
    """Cgroups whose name ``matches``, the topmost of a matching branch only, ``depth`` levels down at most.

    Task cgroups sit near the top (a parent such as ``nomad.slice``, maybe a partition, then
    the task's), so a bounded walk finds them at a cost that does not grow with the host's tree.
    """
    found = []
    for hierarchy in hierarchies:
        base = str(hierarchy).count("/")
        for directory, subdirs, _ in os.walk(hierarchy):
            for name in [name for name in subdirs if matches(name)]:
                found.append(Path(directory, name))
                subdirs.remove(name)
            if directory.count("/") - base >= depth - 1:
                subdirs.clear()
    return found


def remove_cgroups(matches: Callable[[str], bool], hierarchies: Iterable[Path], wait: float = 3.0) -> list[str]:
    """rmdir every cgroup whose name ``matches``, with its children first; returns those left.

    Only rmdir: it fails on a cgroup that still has processes, which is what we
    want to hear about rather than force. A cgroup whose last process was just
    killed can be busy for a moment, hence the short retry.
    """
    targets: list[Path] = []
    for hierarchy in hierarchies:
        for directory, subdirs, _ in os.walk(hierarchy):
            for name in list(subdirs):
                if matches(name):
                    targets.append(Path(directory, name))
                    subdirs.remove(name)
    left: list[str] = []
    for target in targets:
        deadline = time.monotonic() + wait
        while target.exists():
            try:
                for directory, _, _ in sorted(os.walk(target), key=lambda entry: -entry[0].count("/")):
                    os.rmdir(directory)
            except FileNotFoundError:
                continue
            except OSError:
                if time.monotonic() > deadline:
                    left.append(str(target))
                    break
                time.sleep(0.1)
    return left


def crun_cleanup(crun_root: Path, crun: str | None = None) -> list[str]:
    """Kill and delete every container under the crun state root ``crun_root``; returns those left."""
    crun = crun or shutil.which("crun") or "/usr/bin/crun"
    if not crun_root.is_dir() or not os.access(crun, os.X_OK):
        return []
    base = [crun, "--root", str(crun_root)]
    listed = subprocess.run([*base, "list", "--quiet"], capture_output=True, text=True)
    ids = listed.stdout.split()
    for container in ids:
        subprocess.run([*base, "kill", container, "KILL"], capture_output=True)
        subprocess.run([*base, "delete", "--force", container], capture_output=True)
    remaining = subprocess.run([*base, "list", "--quiet"], capture_output=True, text=True)
    return remaining.stdout.split()


def remove_tree(path: Path) -> str | None:
    """Remove ``path``; returns an error text when something stayed."""
    if not path.exists():
        return None
    shutil.rmtree(path, ignore_errors=True)
    return f"{path} could not be removed completely" if path.exists() else None

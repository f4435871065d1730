"""The process table, read from /proc once: what ties each process to a place or an allocation.

Besides parent, name and command line, a leak check needs what psutil does not gather in one
pass: the root directory (a chroot or container), the files a process holds open (task output
goes to Nomad's log FIFOs in the alloc dir) and the allocation id Nomad put in its environment.
Every field is read with the process possibly gone or not ours to read: it is then empty.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

PROC = "/proc"
ALLOC_ID_VARIABLE = b"NOMAD_ALLOC_ID="
# Nomad's allocation ids are UUIDs: 8-4-4-4-12 lowercase hex digits.
ALLOC_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The allocation of a path into an alloc dir: <data dir>/alloc/<alloc id>/...
ALLOC_DIR_PATH = re.compile(rf"(?<=/alloc/){ALLOC_ID.pattern}(?![\w-])")


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...]
    cwd: str
    cgroups: str
    root: str = "/"
    files: tuple[str, ...] = ()
    alloc_env: str = ""  # NOMAD_ALLOC_ID in its environment

    @property
    def command(self) -> str:
        return " ".join(self.cmdline)

    def places(self) -> tuple[str, ...]:
        """Every path it is at or holds: working dir, root dir, open files."""
        return (self.cwd, self.root, *self.files)

    def allocation(self) -> str:
        """The allocation it belongs to, as far as it says so itself; empty when it does not.

        The environment first: Nomad sets it and nothing changes it. Then its cgroup, its
        working or root dir, its command line. Open files are not asked: they come and go.
        """
        if self.alloc_env:
            return self.alloc_env
        sources = (
            (ALLOC_ID, self.cgroups),
            (ALLOC_DIR_PATH, self.cwd),
            (ALLOC_DIR_PATH, self.root),
            (ALLOC_ID, self.command),
        )
        for pattern, text in sources:
            if found := pattern.search(text):
                return found.group(0)
        return ""

    def allocation_ids(self) -> set[str]:
        """Every allocation id it carries: environment, cgroup, command line."""
        return {self.alloc_env, *ALLOC_ID.findall(self.cgroups), *ALLOC_ID.findall(self.command)} - {""}


def read_table(proc: str = PROC) -> list[ProcessInfo]:
    """Every process of ``proc`` (``/proc``), read once; a process gone meanwhile is left out."""
    table = []
    for name in os.listdir(proc):
        if name.isdigit() and (info := read_process(f"{proc}/{name}")) is not None:
            table.append(info)
    return table


def read_process(entry: str) -> ProcessInfo | None:
    """The process whose /proc entry is ``entry``; plain string paths, as this runs for every process."""
    try:
        with open(f"{entry}/stat") as stat_file, open(f"{entry}/cgroup") as cgroup_file:
            stat, cgroups = stat_file.read(), cgroup_file.read()
    except OSError:
        return None
    # The name in stat is in parentheses and may itself hold spaces and parentheses.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
    return ProcessInfo(
        pid=int(os.path.basename(entry)),
        ppid=ppid,
        name=name,
        cmdline=_cmdline(_read_bytes(f"{entry}/cmdline")),
        cwd=_link(f"{entry}/cwd"),
        cgroups=cgroups,
        root=_link(f"{entry}/root"),
        files=_open_files(f"{entry}/fd"),
        alloc_env=_alloc_env(_read_bytes(f"{entry}/environ")),
    )


def _cmdline(raw: bytes) -> tuple[str, ...]:
    # Arguments end with NUL each; a process that rewrote its title may have dropped the last one.
    return tuple(raw.decode(errors="replace").rstrip("\0").split("\0")) if raw else ()


def _open_files(fd_dir: str) -> tuple[str, ...]:
    """Paths of its open file descriptors; pipes, sockets and anonymous inodes are no place."""
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return ()
    return tuple(sorted(target for name in names if (target := _link(f"{fd_dir}/{name}")).startswith("/")))


def _alloc_env(environ: bytes) -> str:
    for variable in environ.split(b"\0"):
        if variable.startswith(ALLOC_ID_VARIABLE):
            return variable[len(ALLOC_ID_VARIABLE) :].decode(errors="replace")
    return ""


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return b""


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def descendants(pids: Iterable[int], table: list[ProcessInfo]) -> Iterator[ProcessInfo]:
    """The children of ``pids``, their children and so on."""
    children: dict[int, list[ProcessInfo]] = {}
    for info in table:
        children.setdefault(info.ppid, []).append(info)
    pending = [child for pid in pids for child in children.get(pid, [])]
    seen: set[int] = set()
    while pending:
        info = pending.pop()
        if info.pid not in seen:
            seen.add(info.pid)
            yield info
            pending += children.get(info.pid, [])


def own_lineage() -> set[int]:
    """This process and its ancestors: the robot or pytest process looking, never a leak."""
    lineage, pid = set(), os.getpid()
    while pid > 0 and pid not in lineage:
        lineage.add(pid)
        info = read_process(f"{PROC}/{pid}")
        pid = info.ppid if info else 0
    return lineage

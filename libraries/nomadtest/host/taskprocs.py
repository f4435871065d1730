"""Which processes belong to the tasks of an agent, whatever driver ran them.

A task process is tied to its agent by what Nomad gives every task rather than by one driver's
settings: paths into the agent's run dir (working dir, root dir, open files such as the log
FIFOs in the alloc dir, command line), the ids of the agent's allocations (``NOMAD_ALLOC_ID`` in
its environment, a cgroup named after the allocation, its command line), and parentage (the
descendants of such a process, and of the live agent, even once re-parented to pid 1).

An agent's allocations are its alloc dirs and the alloc ids its log names: Nomad removes the
dir when it collects the allocation, the log keeps the id.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from nomadtest.host import processes
from nomadtest.host.proctable import ALLOC_ID, ProcessInfo, descendants, own_lineage

# Nomad logs every task event with the allocation's id, at INFO level.
LOGGED_ALLOC_ID = re.compile(rb"alloc_id=(" + ALLOC_ID.pattern.encode() + rb")")
# Nomad names a task's cgroup "<alloc id>.<task>" (".scope" added on cgroup v2).
ALLOCATION_CGROUP = re.compile(rf"{ALLOC_ID.pattern}\.")


@dataclass(frozen=True)
class TaskTies:
    """What ties a process to the tasks of one agent."""

    places: tuple[Path, ...]  # the agent's run dir and its driver's state dir
    allocations: frozenset[str] = frozenset()
    cgroup_parent: str = ""  # a driver's own cgroup parent, when it has one

    def hold(self, info: ProcessInfo) -> bool:
        return self.names_a_place(info) or bool(self.allocations & info.allocation_ids()) or self.in_cgroup(info)

    def names_a_place(self, info: ProcessInfo) -> bool:
        patterns = [processes.path_pattern(place) for place in self.places]
        return any(p.search(info.command) or any(p.match(path) for path in info.places()) for p in patterns)

    def in_cgroup(self, info: ProcessInfo) -> bool:
        return bool(self.cgroup_parent) and f":/{self.cgroup_parent}/" in info.cgroups


def task_processes(ties: TaskTies, table: list[ProcessInfo], agent_pid: int | None) -> list[ProcessInfo]:
    """The processes ``ties`` hold, their descendants and the live agent's; not the agent nor who looks."""
    tied = {info.pid for info in table if ties.hold(info)}
    roots = tied | ({agent_pid} if agent_pid is not None else set())
    found = tied | {info.pid for info in descendants(roots, table)}
    found -= own_lineage() | {agent_pid}
    return [info for info in table if info.pid in found]


def allocation_processes(table: list[ProcessInfo]) -> list[ProcessInfo]:
    """Processes of any Nomad allocation: ``NOMAD_ALLOC_ID`` in their environment, or a cgroup named
    after an allocation. Only a check after the whole run may ask: during it they are tasks still running."""
    own = own_lineage()
    return [info for info in table if info.pid not in own and (info.alloc_env or in_allocation_cgroup(info))]


def in_allocation_cgroup(info: ProcessInfo) -> bool:
    return any(ALLOCATION_CGROUP.match(name) for line in info.cgroups.splitlines() for name in line.split("/"))


def agent_allocations(run_dir: Path, log: Path | None) -> frozenset[str]:
    """The allocations an agent holds or ran: its alloc dirs, and the alloc ids its log names."""
    try:
        held = {entry.name for entry in (run_dir / "data" / "alloc").iterdir() if ALLOC_ID.fullmatch(entry.name)}
    except OSError:
        held = set()
    return frozenset(held | (logged_allocations(log) if log else set()))


# What each agent log has been read up to, so each check reads only what was written since:
# {path: (inode, offset, alloc ids)}. A log replaced (new inode) or cut is read again from the start.
_read_logs: dict[Path, tuple[int, int, frozenset[str]]] = {}


def logged_allocations(log: Path) -> frozenset[str]:
    try:
        with open(log, "rb") as file:
            status = os.fstat(file.fileno())
            inode, offset, found = _read_logs.get(log, (status.st_ino, 0, frozenset()))
            if inode != status.st_ino or offset > status.st_size:
                offset, found = 0, frozenset()
            file.seek(offset)
            text = file.read()
    except OSError:
        return frozenset()
    # The last line may be half written: it is read again next time.
    complete = text[: text.rfind(b"\n") + 1]
    found = found | {match.decode() for match in LOGGED_ALLOC_ID.findall(complete)}
    _read_logs[log] = (status.st_ino, offset + len(complete), found)
    return found


def short_id(alloc_id: str) -> str:
    """The first 8 characters, as Nomad's CLI shows allocation ids."""
    return alloc_id[:8]


def describe_allocation_process(info: ProcessInfo) -> str:
    """``task process <pid> (<name>) of allocation <id>: <command line>``, as the run's end check lists it."""
    return f"task process {info.pid} ({info.name}) of allocation {short_id(info.allocation())}: {info.command[:160]}"

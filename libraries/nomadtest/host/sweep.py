"""Cleaning up after agents: the one path used by ``Stop Nomad Server`` and by the crash sweep.

pabot kills a worker's children before teardowns run and a second Ctrl-C skips
teardowns, so every Robot process records what it started in
``<run_root>/state/<pid>.json``. The first agent start of a later run sweeps the
records of processes that are gone, with the same :func:`cleanup` that a normal
stop runs after its API part.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from nomadtest.host import netns, processes
from nomadtest.registry import Agent


@dataclass
class AgentRecord:
    """What cleaning up one agent needs, in a form that survives its owner process."""

    name: str
    run_dir: str
    pid: int | None = None
    create_time: float | None = None
    # Seconds after boot (processes.process_started): the identity a stepped clock does not move.
    started: float | None = None
    driver_state_dir: str | None = None
    cgroup_parent: str = ""
    runtime: str | None = None
    ports: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, agent: Agent, runtime: str | None = None) -> AgentRecord:
        pid = agent.pid if agent.process and agent.process.poll() is None else None
        return cls(
            name=agent.name,
            run_dir=str(agent.run_dir),
            pid=pid,
            create_time=processes.process_create_time(pid) if pid else None,
            started=processes.process_started(pid) if pid else None,
            driver_state_dir=str(agent.driver_state_dir) if agent.driver_state_dir else None,
            cgroup_parent=agent.cgroup_parent,
            runtime=runtime,
            ports=[agent.http_port, agent.rpc_port, agent.serf_port],
        )


def cleanup(
    record: AgentRecord,
    grace: float,
    keep_log: Path | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> list[str]:
    """Stop one agent and remove everything it and its tasks left; returns what could not be removed.

    Order matters: processes first (they hold mounts and cgroups), then the
    containers that live on without them, then mounts, cgroups and files.
    Keeping a copy of the log in ``keep_log`` is best effort: a failure is passed
    to ``warn`` and the cleanup goes on.
    """
    problems: list[str] = []
    run_dir = Path(record.run_dir)
    state_dir = Path(record.driver_state_dir) if record.driver_state_dir else None
    roots = []
    if record.pid and not processes.interrupt(record.pid, record.create_time, grace, record.started):
        with contextlib.suppress(psutil.NoSuchProcess):
            roots.append(psutil.Process(record.pid))
    places = [run_dir] + ([state_dir] if state_dir and not _inside(state_dir, run_dir) else [])
    for place in places:
        survivors = processes.kill_everything(roots, place)
        problems += [f"process survived SIGKILL: {survivor}" for survivor in survivors]
        roots = []
    if state_dir:
        left = processes.crun_cleanup(state_dir / "crun", record.runtime)
        problems += [f"crun container not deleted: {container}" for container in left]
    alloc_ids = _alloc_ids(run_dir)
    for place in places:
        problems += [f"still mounted: {point}" for point in processes.unmount_all(place)]
    if record.cgroup_parent or alloc_ids:
        hierarchies = processes.cgroup_hierarchies(processes.read_mounts())
        left = processes.remove_cgroups(lambda name: _ours(name, record.cgroup_parent, alloc_ids), hierarchies)
        problems += [f"cgroup not removed: {cgroup}" for cgroup in left]
    if keep_log is not None:
        try:
            _copy_log(run_dir / "agent.log", keep_log)
        except OSError as error:
            warn(f"The log of Nomad agent '{record.name}' could not be kept at {keep_log}: {error}")
    error = processes.remove_tree(run_dir)
    if error:
        problems.append(error)
    return problems


def _inside(path: Path, parent: Path) -> bool:
    return processes.path_pattern(parent).match(str(path)) is not None


def _alloc_ids(run_dir: Path) -> set[str]:
    # Nomad names its task cgroups "<alloc id>.<task>" (".scope" on cgroup v2).
    alloc_dir = run_dir / "data" / "alloc"
    return {entry.name for entry in alloc_dir.iterdir()} if alloc_dir.is_dir() else set()


def _ours(name: str, cgroup_parent: str, alloc_ids: Iterable[str]) -> bool:
    if cgroup_parent and name == cgroup_parent:
        return True
    return any(name.startswith(f"{alloc_id}.") for alloc_id in alloc_ids)


def _copy_log(source: Path, target: Path) -> None:
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


class StateFile:
    """This process's record of its live agents, rewritten on every start and stop."""

    def __init__(self, run_root: Path, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.path = run_root / "state" / f"{self.pid}.json"

    def write(self, records: Iterable[AgentRecord], networks: Iterable[dict] = ()) -> None:
        """Record the live agents and the test networks (``netns.Network.as_dict()``) of this process."""
        records, networks = list(records), list(networks)
        if not records and not networks:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        content = {
            "pid": self.pid,
            "create_time": processes.process_create_time(self.pid),
            "started": processes.process_started(self.pid),
            "agents": [asdict(record) for record in records],
            "networks": networks,
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(content, indent=2))
        temporary.replace(self.path)


def sweep(run_root: Path, grace: float = 2.0) -> list[str]:
    """Clean up the agents of every state file whose owner process is gone; returns a report.

    A state file that cannot be read is left alone and reported: guessing what it
    described could kill or delete what belongs to someone else.
    """
    report: list[str] = []
    state_dir = run_root / "state"
    if not state_dir.is_dir():
        return report
    for path in sorted(state_dir.glob("*.json")):
        try:
            content = json.loads(path.read_text())
            owner, created, started = int(content["pid"]), content.get("create_time"), content.get("started")
            records = [AgentRecord(**_renamed(agent)) for agent in content["agents"]]
            networks = [netns.Network.from_dict(network) for network in content.get("networks", [])]
        except (OSError, ValueError, KeyError, TypeError) as error:
            report.append(f"Ignored unreadable state file {path}: {error}")
            continue
        if owner == os.getpid() or processes.is_same_process(owner, created, started):
            continue
        for record in records:
            problems = cleanup(record, grace)
            outcome = "; ".join(problems) if problems else "cleaned up"
            report.append(f"Agent '{record.name}' of dead process {owner} ({record.run_dir}): {outcome}")
            remove_if_empty(Path(record.run_dir).parent)
        # After the agents: a namespace still holding a process cannot go.
        for network in networks:
            problems = netns.remove(network)
            report.append(f"Test network {network.bridge} of dead process {owner}: {'; '.join(problems) or 'removed'}")
        path.unlink(missing_ok=True)
    # Networks of runs whose state file was lost: found by name, owner taken from the bridge's alias.
    with contextlib.suppress(netns.NetworkError, OSError):
        report += netns.sweep_strays()
    return report


def remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()


def _renamed(agent: dict) -> dict:
    """A record as written by any earlier version: 0.4 called the runtime ``crun_path``."""
    return {("runtime" if key == "crun_path" else key): value for key, value in agent.items()}

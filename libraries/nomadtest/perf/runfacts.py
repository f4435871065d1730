"""What a measurement ran on: the run's identity, the checkout's git state and the host."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from nomadtest import profiles
from nomadtest.registry import REGISTRY


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RunIdentity:
    """Which run a process belongs to: pabot's workers share the run of the pabot process."""

    run_id: str
    started_at: float


def run_identity(under_pabot: bool, pid: int | None = None) -> RunIdentity:
    """The run of this process, or of the pabot process that started it (through a shell) for a pabot worker."""
    owner = pid or (_pabot_ancestor() if under_pabot else None) or os.getpid()
    try:
        started = psutil.Process(owner).create_time()
    except psutil.Error:
        started = time.time()
    return RunIdentity(f"{socket.gethostname()}-{owner}-{int(started)}", started)


def _pabot_ancestor() -> int | None:
    """The ``pabot`` process above this one: ``pabot ...``, ``python .../pabot ...`` or ``python -m pabot``."""
    try:
        for parent in psutil.Process().parents():
            command = parent.cmdline()
            if "pabot" in [Path(part).name for part in command[:2]] or command[1:3] in (
                ["-m", "pabot"],
                ["-m", "pabot.pabot"],
            ):
                return parent.pid
    except psutil.Error:
        pass
    return None


def run_record(checkout: Path, under_pabot: bool) -> dict[str, Any]:
    """What a run record of metrics.json says about the run besides its metrics; ``checkout`` is the one measured."""
    identity = run_identity(under_pabot)
    record: dict[str, Any] = {"run": identity.run_id, "started_at": iso_time(identity.started_at)}
    record.update(git_facts(checkout))
    record["driver"] = profiles.active().name
    record["nomad_version"] = _running_nomad_version()
    record["host"] = host_facts()
    return record


def _running_nomad_version() -> str | None:
    for agent in REGISTRY.agents():
        if agent.is_running:
            try:
                version = (agent.client.get("/v1/agent/self") or {}).get("config", {}).get("Version") or {}
            except Exception:  # a fact for the record, not worth failing a test over
                continue
            return version.get("Version")
    return None


def git_facts(checkout: Path) -> dict[str, Any]:
    """The commit checked out in ``checkout`` and whether the work tree has changes; empty outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return {"git_commit": None}
        status = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}


def host_facts() -> dict[str, Any]:
    """What decides how fast things run here: CPU, memory, kernel, OS, Python and Robot versions."""
    from robot.version import get_version  # here, so that this module imports without Robot Framework

    facts: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "os": _os_name(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_mib": psutil.virtual_memory().total // 2**20,
        "python": platform.python_version(),
        "robot_framework": get_version(),
    }
    facts.update(_cpu_model())
    return facts


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _cpu_model() -> dict[str, Any]:
    facts: dict[str, Any] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and "cpu_model" not in facts:
                facts["cpu_model"] = value.strip()
            elif key == "cpu MHz" and "cpu_mhz" not in facts:
                facts["cpu_mhz"] = round(float(value))
    except (OSError, ValueError):
        pass
    return facts

"""Shared fixtures of the unit tests of the agent lifecycle internals."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from nomadtest.registry import Agent

REPO_ROOT = Path(__file__).resolve().parents[1]
NOMAD_BIN = Path(os.environ.get("NOMAD_BIN") or REPO_ROOT / "bin" / "nomad")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts, cgroups)")


def fake_agent(
    run_dir: Path,
    process: subprocess.Popen | None = None,
    name: str = "client-1",
    driver: str = "crunjar",
    cgroup_parent: str = "",
) -> Agent:
    """An Agent record for tests that need no real agent; crunjar agents keep driver state in the run dir."""
    return Agent(
        name=name,
        role="client",
        http_port=1,
        rpc_port=2,
        serf_port=3,
        run_dir=run_dir,
        config_path=run_dir / "agent.hcl",
        log_path=run_dir / "agent.log",
        process=process,
        driver=driver,
        driver_state_dir=run_dir / "crunjar" if driver == "crunjar" else None,
        cgroup_parent=cgroup_parent,
    )


needs_nomad = pytest.mark.skipif(not os.access(NOMAD_BIN, os.X_OK), reason=f"no Nomad binary at {NOMAD_BIN}")


@pytest.fixture
def spawn():
    """Start processes for a test and make sure none outlives it, whatever the test did to them."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **options) -> subprocess.Popen:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()

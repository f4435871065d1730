"""Whole run roots: robot runs of fixture suites in roots of their own, what runs and agents left there,
and sweeping after runs that died (on this host, and their namespaces on an external cluster)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import psutil
from robot.api import logger
from robot.api.types import Secret
from robot.libraries.BuiltIn import BuiltIn
from robot.libraries.Process import Process as ProcessLibrary

from nomadtest.agents import external
from nomadtest.host import leaks, leftovers, processes, runroot, sweep
from nomadtest.host.ports import busy_ports
from nomadtest.waiting import Deadline


def run_fixture(
    suite: str,
    options: tuple[str, ...],
    expected_rc: int,
    run_root: str | None,
    deadline: Deadline,
    environment: dict[str, str] | None,
) -> tuple[str, str]:
    """Run ``suite`` in a robot process and run root of its own; its console output and that run root."""
    arguments, run_root = fixture_command(suite, options, run_root)
    variables = {**(environment or {}), runroot.ENVIRONMENT_VARIABLE: run_root}
    result = ProcessLibrary().run_process(
        *arguments,
        stderr="STDOUT",
        timeout=timedelta(seconds=deadline.seconds),
        **{f"env:{name}": value for name, value in variables.items()},
        **secret_environment(),
    )
    logger.info(result.stdout)
    if result.rc != expected_rc:
        raise AssertionError(f"The fixture run exited with {result.rc}, expected {expected_rc}:\n{result.stdout}")
    return result.stdout, run_root


def start_fixture(suite: str, options: tuple[str, ...], run_root: str | None) -> tuple[object, str]:
    """Start ``suite`` as :func:`run_fixture` does, without waiting; the Process library's handle and the root."""
    arguments, run_root = fixture_command(suite, options, run_root)
    # The suite's own Process library instance must own the handle, so its keywords accept it.
    process_library = BuiltIn().get_library_instance("Process")
    handle = process_library.start_process(
        *arguments,
        stdout=f"{run_root}.out",
        stderr="STDOUT",
        **{f"env:{runroot.ENVIRONMENT_VARIABLE}": run_root},
        **secret_environment(),
    )
    return handle, run_root


def secret_environment() -> dict[str, Secret]:
    """The Process library logs the whole environment of a process given any variable of its own, the
    run's ``NOMAD_TOKEN`` too; given again as a Secret, it is logged as ``<secret>``."""
    token = os.environ.get("NOMAD_TOKEN")
    return {"env:NOMAD_TOKEN": Secret(token)} if token else {}


def fixture_command(suite: str, options: tuple[str, ...], run_root: str | None) -> tuple[list[str], str]:
    """The robot command that runs ``suite`` without reports, and its run root (fresh unless given)."""
    builtin = BuiltIn()
    temp_dir, output_dir = builtin.get_variable_value("${TEMPDIR}"), builtin.get_variable_value("${OUTPUT DIR}")
    run_root = run_root or str(Path(temp_dir) / f"e2e-fixture-{uuid.uuid4().hex[:8]}")
    robot = Path(sys.executable).with_name("robot")
    command = [str(robot), "--outputdir", f"{output_dir}/fixtures", "--output", "NONE", "--report", "NONE"]
    command += ["--log", "NONE", *options, suite]
    return command, run_root


def interrupt_robots_naming(directory: Path, grace: float) -> list[str]:
    """SIGINT each robot process whose command line names ``directory`` and wait up to ``grace`` seconds
    for it: pabot 5 starts every robot in a session of its own, so they outlive a pabot that was killed."""
    stopped = []
    for process in processes.processes_using(directory):
        try:
            if "robot" not in " ".join(process.cmdline()):
                continue
            created = process.create_time()
        except psutil.Error:
            continue
        ended = processes.interrupt(process.pid, created, grace)
        stopped.append(f"robot {process.pid}: {'ended' if ended else f'still running after {grace:.0f} s'}")
    logger.info("Interrupted:\n" + ("\n".join(stopped) or "(no robot process)"))
    return stopped


def kill_with_children(pid: int) -> list[str]:
    """SIGKILL the process group of ``pid`` and each child of ``pid``, as a CI runner stops a job's processes:
    pabot 5 starts every robot in a session of its own, out of pabot's group. Returns what was killed."""
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        children = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    killed = [f"process group of {pid}"]
    for child in children:
        with contextlib.suppress(psutil.Error):
            described = f"{child.pid} ({' '.join(child.cmdline()[:2])})"
            child.kill()
            killed.append(described)
    logger.info("Killed: " + ", ".join(killed))
    return killed


def check_clean(run_root: Path) -> None:
    """Fail naming what agents run under ``run_root`` left; remove the root when nothing is."""
    left = leftovers.find(run_root)
    if left:
        raise AssertionError(f"{run_root} is not clean:\n" + "\n".join(left))
    remove_if_empty(run_root)


def check_live_agent(run_root: Path) -> None:
    if not [p for p in processes.processes_using(run_root) if "agent" in p.cmdline()[1:2]]:
        raise AssertionError(f"No live Nomad agent runs under {run_root}.")


def sweep_dead_runs(run_root: Path) -> list[str]:
    """Clean up after robot processes that died under ``run_root``, and their external-cluster namespaces."""
    swept = sweep.sweep(run_root)
    remove_if_empty(run_root)
    access = external.ClusterAccess.from_environment()
    if access is not None:
        swept += external.sweep_namespaces(access, Deadline(60))
    logger.info("Swept:\n" + ("\n".join(swept) or "(nothing)"))
    return swept


def check_agent_left_nothing(info: dict) -> None:
    """Fail naming what a stopped agent (as ``Get Nomad Agent Info`` described it) left on the host."""
    problems = agent_leftovers(info)
    if problems:
        raise AssertionError(f"Agent '{info['name']}' left behind:\n" + "\n".join(problems))


def agent_leftovers(info: dict) -> list[str]:
    """What a stopped agent (as ``Get Nomad Agent Info`` described it) left on the host."""
    run_dir = Path(info["run_dir"])
    problems = []
    if processes.is_same_process(int(info["pid"]), info.get("create_time")):
        problems.append(f"agent process {info['pid']} still runs")
    problems += [f"process {p.pid} {' '.join(p.cmdline())[:160]}" for p in processes.processes_using(run_dir)]
    problems += [f"mount {m.mount_point}" for m in processes.mounts_under(run_dir, processes.read_mounts())]
    if run_dir.exists():
        problems.append(f"run dir {run_dir} still exists")
    if info.get("cgroup_parent"):
        hierarchies = processes.cgroup_hierarchies(processes.read_mounts())
        problems += [f"cgroup {c}" for c in leaks.container_cgroups(info["cgroup_parent"], hierarchies)]
    ports = [int(info[key]) for key in ("http_port", "rpc_port", "serf_port")]
    problems += [f"port {port} still bound" for port in busy_ports(ports)]
    return problems


def remove_if_empty(run_root: Path) -> None:
    # Fixture runs each get a run root in the temp dir; an empty one is all that is left of a clean run.
    sweep.remove_if_empty(run_root / "state")

"""Keywords about whole run roots: for suites that run other robot processes and check what they left."""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn
from robot.libraries.Process import Process as ProcessLibrary

from nomadtest.agents import external
from nomadtest.host import leaks, leftovers, processes, runroot, sweep
from nomadtest.host.ports import busy_ports
from nomadtest.library import ASSERTION, LIFECYCLE, LibraryComponent
from nomadtest.waiting import Deadline


class RunRoots(LibraryComponent):
    """Run fixture suites in robot processes of their own, and check what runs and agents left behind."""

    @keyword(tags=[LIFECYCLE])
    def run_fixture_suite(
        self,
        suite: str,
        *options: str,
        expected_rc: int = 0,
        run_root: str | None = None,
        timeout: timedelta = timedelta(minutes=5),
        environment: dict[str, str] | None = None,
    ) -> tuple[str, str]:
        """Runs ``suite`` in a robot process and run root of its own; returns its console output and that run root.

        ``options`` are more robot options, such as ``--variable NAME:value``. The run keeps its
        agent logs beside this run's results (``${OUTPUT DIR}/fixtures``) and writes no reports.
        Fails unless it exits with ``expected_rc`` (robot's count of failed tests), quoting its
        output. ``run_root`` defaults to a fresh directory in the temp dir; ``environment`` adds
        environment variables to the run's.

        Example:
        | ${output} | ${run_root} = | `Run Fixture Suite` | ${CURDIR}/_fixtures/failing.robot | expected_rc=1 |
        | `Run Root Should Be Clean` | ${run_root} | | | |
        """
        arguments, run_root = self._fixture_run(suite, options, run_root)
        variables = {**(environment or {}), runroot.ENVIRONMENT_VARIABLE: run_root}
        result = ProcessLibrary().run_process(
            *arguments,
            stderr="STDOUT",
            timeout=timedelta(seconds=Deadline(timeout).seconds),
            **{f"env:{name}": value for name, value in variables.items()},
        )
        logger.info(result.stdout)
        if result.rc != expected_rc:
            raise AssertionError(f"The fixture run exited with {result.rc}, expected {expected_rc}:\n{result.stdout}")
        return result.stdout, run_root

    @keyword(tags=[LIFECYCLE])
    def start_fixture_suite(self, suite: str, *options: str, run_root: str | None = None) -> tuple[object, str]:
        """Starts ``suite`` as `Run Fixture Suite` does, without waiting; returns the Process library's
        handle and the run root. Its console output goes to ``<run_root>.out``. The suite imports
        the Process library, whose keywords take the handle.

        Example:
        | ${process} | ${run_root} = | `Start Fixture Suite` | ${CURDIR}/_fixtures/killed.robot |
        | Terminate Process | ${process} | kill=${True} | |
        """
        arguments, run_root = self._fixture_run(suite, options, run_root)
        environment = f"env:{runroot.ENVIRONMENT_VARIABLE}={run_root}"
        handle = BuiltIn().run_keyword(
            "Process.Start Process", *arguments, environment, f"stdout={run_root}.out", "stderr=STDOUT"
        )
        return handle, run_root

    @staticmethod
    def _fixture_run(suite: str, options: tuple[str, ...], run_root: str | None) -> tuple[list[str], str]:
        builtin = BuiltIn()
        run_root = run_root or str(Path(builtin.get_variable_value("${TEMPDIR}")) / f"e2e-fixture-{_unique()}")
        output_dir = builtin.get_variable_value("${OUTPUT DIR}")
        robot = Path(sys.executable).with_name("robot")
        command = [str(robot), "--outputdir", f"{output_dir}/fixtures", "--output", "NONE", "--report", "NONE"]
        command += ["--log", "NONE", *options, suite]
        return command, run_root

    @keyword(tags=[ASSERTION])
    def run_root_should_be_clean(self, run_root: str) -> None:
        """Fails when anything of the agents run under ``run_root`` is left: processes, containers, mounts, dirs.

        A clean run root is removed, when nothing but its empty state dir is left in it.

        Example:
        | `Run Root Should Be Clean` | ${run_root} |
        """
        left = leftovers.find(Path(run_root))
        if left:
            raise AssertionError(f"{run_root} is not clean:\n" + "\n".join(left))
        _remove_if_empty(Path(run_root))

    @keyword(tags=[ASSERTION])
    def run_root_should_hold_a_live_agent(self, run_root: str) -> None:
        """Fails unless a ``nomad agent`` process runs with its config under ``run_root``.

        Example:
        | `Run Root Should Hold A Live Agent` | ${run_root} |
        """
        agents = [p for p in processes.processes_using(Path(run_root)) if "agent" in p.cmdline()[1:2]]
        if not agents:
            raise AssertionError(f"No live Nomad agent runs under {run_root}.")

    @keyword(tags=[LIFECYCLE])
    def sweep_dead_runs(self, run_root: str) -> list[str]:
        """Cleans up after robot processes that died under ``run_root`` (their state files name them)
        and, attached to an external cluster (``NOMAD_ADDR``), after those of this host that left test
        namespaces there: their jobs are purged and the namespaces deleted.

        Returns what was swept. ``Start Nomad Server`` does this by itself for its own run root.

        Example:
        | ${swept} = | `Sweep Dead Runs` | ${run_root} |
        """
        swept = sweep.sweep(Path(run_root))
        _remove_if_empty(Path(run_root))
        access = external.ClusterAccess.from_environment()
        if access is not None:
            swept += external.sweep_namespaces(access, Deadline(60))
        logger.info("Swept:\n" + ("\n".join(swept) or "(nothing)"))
        return swept

    @keyword(tags=[ASSERTION])
    def agent_should_have_left_nothing_behind(self, info: dict) -> None:
        """Fails when a stopped agent (``info`` from ``Get Nomad Agent Info``) left anything on the host.

        Checks its process, its run dir, mounts and processes naming it, containers
        in its crun root, cgroups under its cgroup parent, and its ports.

        Example:
        | ${info} = | Get Nomad Agent Info | |
        | Stop Nomad Server | | |
        | `Agent Should Have Left Nothing Behind` | ${info} | |
        """
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
        if problems:
            raise AssertionError(f"Agent '{info['name']}' left behind:\n" + "\n".join(problems))


def _unique() -> str:
    return uuid.uuid4().hex[:8]


def _remove_if_empty(run_root: Path) -> None:
    # Fixture runs each get a run root in the temp dir; an empty one is all that is left of a clean run.
    sweep.remove_if_empty(run_root / "state")
    sweep.remove_if_empty(run_root)

"""The project's self-test keywords about whole run roots, for its isolation suites; not shipped.

Suites that run other robot processes (fixture suites) and check what those runs and their agents
left behind. The procedures live in ``nomadtest.agents.runroots``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from robot.api.deco import keyword, library

from nomadtest import __version__
from nomadtest.agents import runroots
from nomadtest.library import ASSERTION, LIFECYCLE
from nomadtest.waiting import Deadline


@library(scope="GLOBAL", version=__version__, doc_format="ROBOT")
class RunRoots:
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
        return runroots.run_fixture(suite, options, expected_rc, run_root, Deadline(timeout), environment)

    @keyword(tags=[LIFECYCLE])
    def start_fixture_suite(self, suite: str, *options: str, run_root: str | None = None) -> tuple[object, str]:
        """Starts ``suite`` as `Run Fixture Suite` does, without waiting; returns the Process library's
        handle and the run root. Its console output goes to ``<run_root>.out``. The suite imports
        the Process library, whose keywords take the handle.

        Example:
        | ${process} | ${run_root} = | `Start Fixture Suite` | ${CURDIR}/_fixtures/killed.robot |
        | Terminate Process | ${process} | kill=${True} | |
        """
        return runroots.start_fixture(suite, options, run_root)

    @keyword(tags=[LIFECYCLE])
    def interrupt_robots_naming(self, directory: str, grace: timedelta = timedelta(seconds=30)) -> list[str]:
        """Interrupts (SIGINT) each robot process whose command line names ``directory``, such as a pabot
        run's output dir, and waits up to ``grace`` for each to run its teardowns and exit. Pabot 5 starts
        every robot in a session of its own, so killing pabot's process group leaves them running.

        Example:
        | `Interrupt Robots Naming` | ${pabot_dir} |
        """
        return runroots.interrupt_robots_naming(Path(directory), grace.total_seconds())

    @keyword(tags=[LIFECYCLE])
    def kill_process_and_its_children(self, pid: int) -> list[str]:
        """SIGKILLs the process group of ``pid`` and each child process of ``pid``, as a CI runner stops a job:
        pabot 5 starts every robot in a session of its own, which a kill of pabot's group alone misses.

        Example:
        | ${pid} = | `Get Process Id` | ${pabot} |
        | `Kill Process And Its Children` | ${pid} |
        """
        return runroots.kill_with_children(pid)

    @keyword(tags=[ASSERTION])
    def run_root_should_be_clean(self, run_root: str) -> None:
        """Fails when anything of the agents run under ``run_root`` is left: processes, containers, mounts, dirs.

        A clean run root is removed, when nothing but its empty state dir is left in it.

        Example:
        | `Run Root Should Be Clean` | ${run_root} |
        """
        runroots.check_clean(Path(run_root))

    @keyword(tags=[ASSERTION])
    def run_root_should_hold_a_live_agent(self, run_root: str) -> None:
        """Fails unless a ``nomad agent`` process runs with its config under ``run_root``.

        Example:
        | `Run Root Should Hold A Live Agent` | ${run_root} |
        """
        runroots.check_live_agent(Path(run_root))

    @keyword(tags=[LIFECYCLE])
    def sweep_dead_runs(self, run_root: str) -> list[str]:
        """Cleans up after robot processes that died under ``run_root`` (their state files name them)
        and, attached to an external cluster (``NOMAD_ADDR``), after those of this host that left test
        namespaces there: their jobs are purged and the namespaces deleted.

        Returns what was swept. ``Start Nomad Server`` does this by itself for its own run root.

        Example:
        | ${swept} = | `Sweep Dead Runs` | ${run_root} |
        """
        return runroots.sweep_dead_runs(Path(run_root))

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
        runroots.check_agent_left_nothing(info)

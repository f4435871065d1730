"""Deprecated keywords about whole run roots: the project's self-tests, moving out of the shipped library."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from robot.api.deco import keyword

from nomadtest.agents import runroots
from nomadtest.library import ASSERTION, LIFECYCLE, LibraryComponent
from nomadtest.waiting import Deadline

MOVED = (
    "*DEPRECATED in 0.5.0, removed in 0.6.0.* A self-test keyword of this project: its suites get it from "
    "``suites/libraries/RunRoots.py`` in the project's repository, which is not packaged; copy that file if "
    "you use it."
)


class RunRoots(LibraryComponent):
    """Deprecated: the project's self-test keywords about run roots, now in its unpackaged RunRoots library."""

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
        return runroots.run_fixture(suite, options, expected_rc, run_root, Deadline(timeout), environment)

    @keyword(tags=[LIFECYCLE])
    def start_fixture_suite(self, suite: str, *options: str, run_root: str | None = None) -> tuple[object, str]:
        return runroots.start_fixture(suite, options, run_root)

    @keyword(tags=[ASSERTION])
    def run_root_should_be_clean(self, run_root: str) -> None:
        runroots.check_clean(Path(run_root))

    @keyword(tags=[ASSERTION])
    def run_root_should_hold_a_live_agent(self, run_root: str) -> None:
        runroots.check_live_agent(Path(run_root))

    @keyword(tags=[LIFECYCLE])
    def sweep_dead_runs(self, run_root: str) -> list[str]:
        return runroots.sweep_dead_runs(Path(run_root))

    @keyword(tags=[ASSERTION])
    def agent_should_have_left_nothing_behind(self, info: dict) -> None:
        runroots.check_agent_left_nothing(info)


# One notice for all six: Robot warns whenever a keyword whose documentation starts so is used.
for _method in vars(RunRoots).values():
    if callable(_method) and hasattr(_method, "robot_name"):
        _method.__doc__ = MOVED

"""Ownership of agents by tests and suites, and the library listener that enforces it.

An agent belongs to the test that started it, or to the suite when it was
started in a suite setup or teardown. When that test or suite ends, whatever it
still owns is stopped, even if its teardown forgot or failed.

Robot Framework delivers a library listener's events for the suites where the
library is imported, and ``end_test``/``end_suite`` come after the teardowns.
Owners are full names (``Suite.Sub.Test``), so at the end of a suite anything
left by a descendant that did not report its own end is stopped too.
"""

from __future__ import annotations

from collections.abc import Callable

from robot.api import logger
from robot.utils import secs_to_timestr, timestr_to_secs

from nomadtest import failures, robotvars, waiting

OUTSIDE_ROBOT = "(outside Robot Framework)"


def current_owner() -> str:
    """The full name of the running test, or of the running suite outside tests."""
    suite = robotvars.robot_variable("${SUITE NAME}")
    if suite is None:
        return OUTSIDE_ROBOT
    test = robotvars.robot_variable("${TEST NAME}")
    return f"{suite}.{test}" if test else str(suite)


def failing_test() -> str | None:
    """The full name of the running test when it has failed already (we are in its teardown)."""
    if robotvars.robot_variable("${TEST NAME}") and robotvars.robot_variable("${TEST STATUS}") == "FAIL":
        return current_owner()
    return None


def owned_by(owner: str, candidate: str) -> bool:
    """True when ``candidate`` is ``owner`` or a test or suite inside it."""
    return candidate == owner or candidate.startswith(f"{owner}.")


class OwnershipListener:
    """Stops what an ending test or suite still owns.

    ``release(owner, keep)`` stops the agents of ``owner`` and its descendants (with ``keep``, a
    failed test's under ``NOMAD_E2E_KEEP=1``, leaves them running for debugging) and returns
    (names stopped, problems met). Problems fail the test: a leaked process or mount would
    otherwise break a later test in a confusing way.
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(
        self, release: Callable[[str | None, bool], tuple[list[str], list[str]]], what: str = "Nomad agent(s)"
    ) -> None:
        self._release = release
        self._what = what

    def end_test(self, data, result) -> None:
        failed = result.status == "FAIL"
        if failed:
            failures.capture_failed_test(result.full_name)
        stopped, problems = self._release(result.full_name, failed and failures.keeping())
        if stopped:
            logger.warn(
                f"Test '{result.full_name}' left {self._what} running: {', '.join(stopped)}. "
                "They were stopped when the test ended; stop them in the test teardown."
            )
        if problems:
            result.status = "FAIL"
            detail = f"Cleanup of {self._what} left by the test failed: " + "; ".join(problems)
            result.message = f"{result.message}\n\n{detail}" if result.message else detail

    def end_suite(self, data, result) -> None:
        _, problems = self._release(result.full_name, False)
        for problem in problems:
            logger.error(f"Cleanup after suite '{result.full_name}': {problem}")

    def close(self) -> None:
        self._release(None, False)


class TimeoutNet:
    """A safety net for hung runs: every test without a timeout of its own gets ``timeout`` seconds.

    Robot's own test timeout then fails a test that hangs (a driver whose StartTask never returns)
    instead of stalling the run until the CI job's limit. Within a test body, waits end before the
    test's timeout, so the test fails with what they saw last (see ``waiting.bound_test``).
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout

    def start_suite(self, data, result) -> None:
        if self._timeout:
            for test in data.tests:
                test.timeout = test.timeout or secs_to_timestr(self._timeout)

    def start_test(self, data, result) -> None:
        seconds = timestr_to_secs(str(result.timeout)) if result.timeout else None
        waiting.bound_test(seconds, lambda: robotvars.robot_variable("${TEST STATUS}") is not None)

    def end_test(self, data, result) -> None:
        waiting.bound_test(None)

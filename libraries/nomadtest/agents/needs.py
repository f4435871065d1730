"""Whether a test can run here, from its ``needs:`` tags: what the driver claims, where the agents run,
which Nomad is under test.

The suites' Test Setup asks (``Skip If Driver Lacks A Needed Capability``). When a suite setup fails,
Robot fails the suite's tests without running their Test Setup; ``UnmetNeedsListener`` then asks in
its place, so a test that could never have run on this driver stays a skip, as it would have been.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from nomadtest import profiles, versions

if TYPE_CHECKING:
    from nomadtest.agents.manager import AgentManager

# Robot's message for each test of a suite whose setup failed (unchanged since Robot Framework 2).
PARENT_SETUP_FAILED = "Parent suite setup failed:"


def unmet_need(tags: list[str], manager: AgentManager) -> str | None:
    """Why a test with ``tags`` cannot run on the driver and Nomad under test, or None when it can."""
    profile = profiles.active()
    lacking = profile.lacks(tags)
    if profiles.LOCAL_AGENTS in lacking:
        return (
            "Needs agents this run starts on this host, but the run is attached to the external cluster "
            f"at NOMAD_ADDR={os.environ['NOMAD_ADDR']}."
        )
    if profiles.EXTERNAL_CLUSTER in lacking:
        return "Needs an external cluster (NOMAD_ADDR): `make test-external` starts one and runs this."
    if lacking:
        return f"Driver '{profile.name}' does not claim {', '.join(lacking)} (profile: {profile.source})."
    if not versions.needed(tags):
        return None
    running = manager.run_nomad_version()
    too_new = versions.unmet(tags, running)
    if too_new:
        return (
            f"Needs Nomad {max(too_new)} or later; the Nomad under test is {running} "
            f"({manager.describe_run_version()})."
        )
    return None


class UnmetNeedsListener:
    """Turns "Parent suite setup failed" into a skip for a test whose needs are unmet, keeping both reasons.

    Counting such a test as failed would charge the driver with a capability it never claimed; robot's
    own totals, log and xunit say skip, so the capability matrix can count what robot counts.
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, unmet: Callable[[list[str]], str | None]) -> None:
        self._unmet = unmet

    def end_test(self, data, result) -> None:
        if result.status != "FAIL" or not result.message.startswith(PARENT_SETUP_FAILED):
            return
        reason = self._unmet([str(tag) for tag in result.tags])
        if reason:
            setup_failure = result.message[len(PARENT_SETUP_FAILED) :].lstrip("\n")
            result.status = "SKIP"
            result.message = f"{reason}\n\nAlso parent suite setup failed:\n{setup_failure}"

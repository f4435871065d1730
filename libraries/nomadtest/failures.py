"""Failure forensics that need no teardown: what a failed test leaves in log.html by itself.

Libraries register what they capture (agent logs, jobs with their events and task logs). The
first library listener to see a failed test end runs every capture once, before anything the
test owned is stopped, so the evidence is still there. A capture a teardown ran already for the
same test is not repeated.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from robot.api import logger

KEEP_ENVIRONMENT_VARIABLE = "NOMAD_E2E_KEEP"
# The owner given to what a failed test left running on purpose: no later release stops it.
KEPT = "(kept after a failure)"

_captures: dict[str, Callable[[str], None]] = {}
_done: set[str] = set()
_keep = os.environ.get(KEEP_ENVIRONMENT_VARIABLE) == "1"


def keep_on_failure(keep: bool) -> None:
    """Leave what a failed test owned running, for debugging (``NOMAD_E2E_KEEP=1`` by default)."""
    global _keep
    _keep = keep


def keeping() -> bool:
    return _keep


def register(name: str, capture: Callable[[str], None]) -> None:
    """``capture(test)`` runs when a test fails; one per ``name`` (the last registered wins)."""
    _captures[name] = capture


def mark_captured(test: str, name: str) -> None:
    """A keyword captured ``name`` for ``test`` itself: the listener need not do it again."""
    _done.add(f"{test}\0{name}")


def capture_failed_test(test: str) -> None:
    for name, capture in list(_captures.items()):
        key = f"{test}\0{name}"
        if key in _done:
            continue
        _done.add(key)
        try:
            capture(test)
        except Exception as error:  # evidence is best effort: it must not hide the test's own failure
            logger.warn(f"Could not capture {name} of failed test '{test}': {error}")

"""The one way this framework waits: a deadline, a condition's outcome, and a loop that asks again.

A condition answers :class:`Done` (with a value), :class:`Pending` (with what it saw, for the
timeout message) or :class:`Impossible` (the state awaited can no longer happen, which ends the
wait at once). Waits on Nomad's API block on its queries (``api.watch``); waits on what raises
nothing to block on (process births and deaths, lines appended to a file, a port being freed)
use :func:`poll`. Both return the last outcome, and the caller words the failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from robot.utils import secs_to_timestr

# Longest single blocking query. Waits re-check their condition after each one, so this bounds how
# late a change is noticed when it does not touch the watched index (it normally does).
MAX_BLOCK_SECONDS = 5.0


class Deadline:
    """The moment a wait gives up, measured on the monotonic clock."""

    def __init__(self, timeout: timedelta | float) -> None:
        self.seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        if self.seconds < 0:
            raise ValueError(
                f"A timeout cannot be negative, got {secs_to_timestr(self.seconds)}: "
                "give a time such as 30s or 2 min (0 checks once)."
            )
        self._end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def block_for(self, longest: float = MAX_BLOCK_SECONDS) -> float:
        """How long the next blocking query may wait: never past the deadline, never 0 (which means no wait)."""
        return max(min(self.remaining(), longest), 0.001)

    def __str__(self) -> str:
        return secs_to_timestr(self.seconds) if self.seconds else "0 seconds"


@dataclass(frozen=True)
class Done:
    value: Any = None


@dataclass(frozen=True)
class Pending:
    status: str


@dataclass(frozen=True)
class Impossible:
    reason: str


Outcome = Done | Pending | Impossible


def poll(
    check: Callable[[], Outcome], deadline: Deadline, interval: float = 0.05, longest_interval: float | None = None
) -> Outcome:
    """Call ``check`` until it is not Pending or the deadline passed; returns the last outcome.

    The pause starts at ``interval`` and doubles up to ``longest_interval`` when one is given
    (for things that usually happen at once but may take seconds).
    """
    pause = interval
    while True:
        outcome = check()
        if not isinstance(outcome, Pending) or deadline.expired:
            return outcome
        time.sleep(min(pause, max(deadline.remaining(), 0.001)))
        if longest_interval is not None:
            pause = min(pause * 2, longest_interval)


def checked(outcome: Outcome, failure: Callable[[Outcome], Exception]) -> Any:
    """The value of a Done outcome; otherwise raise what ``failure`` makes of the outcome."""
    if isinstance(outcome, Done):
        return outcome.value
    raise failure(outcome)

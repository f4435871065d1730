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
# The wait timeout of keywords given none (`Set Nomad Timeout`, NomadServer's ``timeout`` import).
DEFAULT_NOMAD_TIMEOUT = 60.0


class _Bounds:
    """What a run sets for every wait: the library-wide timeout, and when the running test's timeout ends."""

    nomad_timeout = DEFAULT_NOMAD_TIMEOUT
    # time.monotonic() at which the running test times out; None outside a test body.
    test_end: float | None = None
    test_timeout: float | None = None
    in_teardown: Callable[[], bool] = staticmethod(lambda: False)


def set_nomad_timeout(timeout: timedelta | float) -> float:
    """Make ``timeout`` the wait timeout of keywords given none; returns the previous one in seconds."""
    seconds = _seconds(timeout)
    _check_not_negative(seconds)
    previous, _Bounds.nomad_timeout = _Bounds.nomad_timeout, seconds
    return previous


def nomad_timeout(timeout: timedelta | float | None = None, factor: float = 1.0) -> float:
    """``timeout`` in seconds, or when it is None the library-wide timeout times ``factor``.

    A keyword whose own wait is naturally longer or shorter than most (a cluster's start, a drain)
    keeps that ratio to the library-wide timeout, so raising it for a slow host raises them all.
    """
    return _Bounds.nomad_timeout * factor if timeout is None else _seconds(timeout)


def bound_test(timeout: float | None, in_teardown: Callable[[], bool] = lambda: False) -> None:
    """The running test times out ``timeout`` seconds from now (None: no test runs, or it has no timeout).

    Waits started in its body end early enough for their own failure, with what they saw last,
    to be the test's message rather than Robot's bare "Test timeout exceeded". ``in_teardown``
    tells when the body is over: Robot does not bound a teardown by the test's timeout, nor do we.
    """
    _Bounds.test_timeout = timeout
    _Bounds.test_end = None if timeout is None else time.monotonic() + timeout
    _Bounds.in_teardown = staticmethod(in_teardown)


def _test_time_left() -> float | None:
    """Seconds a wait may take before the running test's timeout, keeping a margin to fail in; None: unbounded."""
    if _Bounds.test_end is None or _Bounds.test_timeout is None or _Bounds.in_teardown():
        return None
    margin = min(max(2.0, 0.05 * _Bounds.test_timeout), 15.0)
    return max(_Bounds.test_end - time.monotonic() - margin, 0.0)


def _seconds(timeout: timedelta | float) -> float:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _check_not_negative(seconds: float) -> None:
    if seconds < 0:
        raise ValueError(
            f"A timeout cannot be negative, got {secs_to_timestr(seconds)}: "
            "give a time such as 30s or 2 min (0 checks once)."
        )


class Deadline:
    """The moment a wait gives up, measured on the monotonic clock.

    ``None`` is the library-wide timeout. Within a test's body a deadline never runs past the
    test's own timeout (less a margin to report in); ``cut`` tells when that shortened it.
    """

    def __init__(self, timeout: timedelta | float | None) -> None:
        self.seconds = nomad_timeout(timeout)
        _check_not_negative(self.seconds)
        self.asked = self.seconds
        left = _test_time_left()
        self.cut = left is not None and left < self.seconds
        if self.cut:
            # Whole seconds read better in the failure, and end a little earlier still.
            self.seconds = float(int(left)) if left >= 1 else left
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
        text = secs_to_timestr(self.seconds) if self.seconds else "0 seconds"
        if self.cut:
            text += f" (all the test's timeout left of the {secs_to_timestr(self.asked)} asked)"
        return text


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


def resolve(timeout: timedelta | float | None, factor: float = 1.0) -> timedelta:
    """A keyword's ``timeout``: as given, or the library-wide timeout times ``factor`` when it is None."""
    return timedelta(seconds=nomad_timeout(timeout, factor))

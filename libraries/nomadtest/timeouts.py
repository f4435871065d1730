"""Deadlines for waits: one monotonic clock, and timeouts written the way Robot users write them."""

from __future__ import annotations

import time
from datetime import timedelta

from robot.utils import secs_to_timestr

# Longest single blocking query. Waits re-check their condition after each one, so this bounds how
# late a change is noticed when it does not touch the watched index (it normally does).
MAX_BLOCK_SECONDS = 5.0


class Deadline:
    """The moment a wait gives up, measured on the monotonic clock."""

    def __init__(self, timeout: timedelta | float) -> None:
        self.seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self._end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def block_for(self) -> float:
        """How long the next blocking query may wait: never past the deadline, never 0 (which means no wait)."""
        return max(min(self.remaining(), MAX_BLOCK_SECONDS), 0.001)

    def __str__(self) -> str:
        return secs_to_timestr(self.seconds) if self.seconds else "0 seconds"

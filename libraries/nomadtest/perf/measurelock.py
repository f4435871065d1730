"""One measurement at a time: a lock shared by every process on the host, and pabot's lock under pabot.

Timing suites must not measure each other. Under pabot they take pabot's lock (PabotLib's
``acquire_lock`` on the run's PabotLib server, ``${PABOTLIBURI}``), so its workers measure one
after the other; every process, pabot worker or separate ``robot`` run, also takes an exclusive
``flock`` on ``<run root>/performance.lock``, which the kernel releases if the process dies. Both
waits are bounded and say who holds the lock when they give up.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

LOCK_NAME = "nomad-e2e-performance"
LOCK_FILE_NAME = "performance.lock"
POLL_SECONDS = 0.5


class MeasurementLockError(AssertionError):
    """The lock stayed held by someone else until the deadline."""

    ROBOT_SUPPRESS_NAME = True


class HostLock:
    """An exclusive ``flock`` on a file; the holder writes who it is into the file for waiters to read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it; empty when nobody wrote anything."""
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return ""
        if not info:
            return ""
        since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
        return f"pid {info.get('pid')} ({info.get('holder', '?')}) since {since}"

    def acquire(self, deadline: Deadline, holder: str) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for as long as the lock is

        def check() -> Outcome:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return Pending(self.holder() or "held by an unknown process")
            return Done()

        outcome = poll(check, deadline, POLL_SECONDS)
        if not isinstance(outcome, Done):
            handle.close()
            raise MeasurementLockError(
                f"The measurement lock {self.path} was still held after {deadline}: {outcome.status}."
            )
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "holder": holder, "since": time.time()}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class PabotLock:
    """PabotLib's named lock on the run's PabotLib server, asked for without blocking so waits are bounded."""

    def __init__(self, uri: str, caller_id: str, name: str = LOCK_NAME, remote: Any = None) -> None:
        if remote is None:
            from robot.libraries.Remote import Remote

            remote = Remote(uri)
        self.remote = remote
        self.caller_id = caller_id
        self.name = name
        self.held = False

    def acquire(self, deadline: Deadline) -> None:
        if self.held:
            return

        def check() -> Outcome:
            if self.remote.run_keyword("acquire_lock", [self.name, self.caller_id], {}):
                return Done()
            return Pending("held by another pabot process")

        outcome = poll(check, deadline, POLL_SECONDS)
        if not isinstance(outcome, Done):
            raise MeasurementLockError(f"Pabot lock '{self.name}' was still {outcome.status} after {deadline}.")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.remote.run_keyword("release_lock", [self.name, self.caller_id], {})
            self.held = False

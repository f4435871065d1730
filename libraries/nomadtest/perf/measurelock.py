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

from nomadtest import robotvars
from nomadtest.host import runroot
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
            if self._ask_pabotlib("acquire_lock"):
                return Done()
            return Pending("held by another pabot process")

        outcome = poll(check, deadline, POLL_SECONDS)
        if not isinstance(outcome, Done):
            raise MeasurementLockError(f"Pabot lock '{self.name}' was still {outcome.status} after {deadline}.")
        self.held = True

    def release(self) -> None:
        if self.held:
            self._ask_pabotlib("release_lock")
            self.held = False

    def _ask_pabotlib(self, operation: str) -> Any:
        """Run one of PabotLib's lock operations on its server (Robot's remote library protocol), for this lock."""
        return self.remote.run_keyword(operation, [self.name, self.caller_id], {})


class MeasurementLocks:
    """What a measurement holds: pabot's lock when pabot started this process, and the host's lock in the run root."""

    def __init__(self) -> None:
        self.host: HostLock | None = None
        self.pabot: PabotLock | None = None

    @property
    def held(self) -> bool:
        return bool(self.host and self.host.held) or bool(self.pabot and self.pabot.held)

    def acquire(self, deadline: Deadline, holder: str) -> str:
        """Take the locks before ``deadline`` and say which are held; holding them already does nothing."""
        uri = robotvars.pabotlib_uri()
        if uri and self.pabot is None:
            self.pabot = PabotLock(uri, robotvars.pabot_caller_id() or str(os.getpid()))
        if self.pabot is not None:
            self.pabot.acquire(deadline)
        if self.host is None:
            # The run root is known only once NomadServer is imported, maybe after this library.
            self.host = HostLock(runroot.run_root() / LOCK_FILE_NAME)
        try:
            self.host.acquire(deadline, holder)
        except AssertionError:
            if self.pabot is not None:
                self.pabot.release()
            raise
        pabot = f"pabot's lock '{self.pabot.name}' and " if self.pabot is not None else ""
        return f"{pabot}the measurement lock {self.host.path}"

    def release(self) -> None:
        """Release whichever of the two is held; pabot's even when releasing the host's failed."""
        try:
            if self.host is not None:
                self.host.release()
        finally:
            if self.pabot is not None:
                self.pabot.release()

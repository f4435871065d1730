"""Keywords that keep timing suites from measuring each other."""

from __future__ import annotations

import os
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from nomadtest.host import runroot
from nomadtest.library import LIFECYCLE, PERFORMANCE, LibraryComponent
from nomadtest.listener import current_owner
from nomadtest.perf.measurelock import LOCK_FILE_NAME, LOCK_NAME, HostLock, PabotLock
from nomadtest.waiting import Deadline


class MeasurementLock(LibraryComponent):
    """Take and release the lock that makes measurements run one at a time."""

    @keyword(tags=[PERFORMANCE, LIFECYCLE])
    def acquire_measurement_lock(self, timeout: timedelta = timedelta(minutes=20)) -> None:
        """Waits until no other timing suite measures, then holds the measurement lock until released.

        Under pabot this takes pabot's lock ``nomad-e2e-performance`` (PabotLib's, on the run's
        PabotLib server), so pabot's workers measure one after the other. Every process, under
        pabot or not, also takes an exclusive lock on ``performance.lock`` in the run root, so two
        separate runs on one host do not measure at once either; the kernel releases it if the
        process dies. Tests of other suites keep running meanwhile: figures taken on a busy host
        carry its load average in ``metrics.json``.

        Fails after ``timeout`` naming who holds the lock. Taking it again while held does nothing.
        The lock is released by `Release Measurement Lock`, or at the end of the run.

        Example:
        | Suite Setup | `Acquire Measurement Lock` |
        | Suite Teardown | `Release Measurement Lock` |
        """
        deadline = Deadline(timeout)
        library = self.library
        uri, caller = _pabot_variables()
        if uri and library.pabot_lock is None:
            library.pabot_lock = PabotLock(uri, caller or str(os.getpid()))
        if library.pabot_lock is not None:
            library.pabot_lock.acquire(deadline)
        if library.host_lock is None:
            library.host_lock = HostLock(runroot.run_root() / LOCK_FILE_NAME)
        try:
            library.host_lock.acquire(deadline, current_owner())
        except AssertionError:
            if library.pabot_lock is not None:
                library.pabot_lock.release()
            raise
        where = f"pabot's lock '{LOCK_NAME}' and " if library.pabot_lock is not None else ""
        logger.info(f"Holding {where}the measurement lock {library.host_lock.path}.")

    @keyword(tags=[PERFORMANCE, LIFECYCLE])
    def release_measurement_lock(self) -> None:
        """Releases the measurement lock taken by `Acquire Measurement Lock`; does nothing when not held.

        Example:
        | Suite Teardown | `Release Measurement Lock` |
        """
        library = self.library
        held = bool(library.host_lock and library.host_lock.held) or bool(
            library.pabot_lock and library.pabot_lock.held
        )
        if library.host_lock is not None:
            library.host_lock.release()
        if library.pabot_lock is not None:
            library.pabot_lock.release()
        logger.info("Released the measurement lock." if held else "The measurement lock was not held.")


def _pabot_variables() -> tuple[str | None, str | None]:
    try:
        builtin = BuiltIn()
        return builtin.get_variable_value("${PABOTLIBURI}"), builtin.get_variable_value("${CALLER_ID}")
    except RobotNotRunningError:
        return None, None

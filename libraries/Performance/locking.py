"""Keywords that keep timing suites from measuring each other."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.library import LIFECYCLE, PERFORMANCE, LibraryComponent
from nomadtest.listener import current_owner
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
        held = self.library.measurement_lock.acquire(Deadline(timeout), current_owner())
        logger.info(f"Holding {held}.")

    @keyword(tags=[PERFORMANCE, LIFECYCLE])
    def release_measurement_lock(self) -> None:
        """Releases the measurement lock taken by `Acquire Measurement Lock`; does nothing when not held.

        Example:
        | Suite Teardown | `Release Measurement Lock` |
        """
        lock = self.library.measurement_lock
        held = lock.held
        lock.release()
        logger.info("Released the measurement lock." if held else "The measurement lock was not held.")

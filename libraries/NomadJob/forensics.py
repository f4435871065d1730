"""Keywords that put the state of jobs into log.html, for investigating a failure."""

from __future__ import annotations

from robot.api.deco import keyword

from nomadtest import failures
from nomadtest.jobs.tracking import FORENSICS_CAPTURE, SubmittedJob
from nomadtest.library import FORENSICS, LibraryComponent
from nomadtest.listener import current_owner
from nomadtest.registry import REGISTRY


class JobForensics(LibraryComponent):
    """Report what jobs, their allocations and tasks looked like."""

    @keyword(tags=[FORENSICS])
    def capture_job_forensics(self, *job_ids: str, lines: int = 50, agent: str | None = None) -> None:
        """Logs the state of the current test's jobs (or those given) for investigating a failure.

        For each job: its status and placement failures, each allocation with its tasks' states
        and events, and the last ``lines`` lines of each task's stdout and stderr. A failed test
        gets this for its jobs by itself, whatever its teardown does.

        Example:
        | [Teardown] | Run Keyword If Test Failed | `Capture Job Forensics` |
        """
        tracker = self.library.tracker
        if job_ids:
            tracker.log_forensics([SubmittedJob(job_id, REGISTRY.for_job(job_id, agent)) for job_id in job_ids], lines)
            return
        owner = current_owner()
        failures.mark_captured(owner, FORENSICS_CAPTURE)
        tracker.log_forensics(tracker.owned_by(owner), lines)

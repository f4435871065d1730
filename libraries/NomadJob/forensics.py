"""Keywords that put the state of jobs into log.html, for investigating a failure."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import forensics
from nomadtest.library import FORENSICS, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.tracking import SubmittedJob


class JobForensics(LibraryComponent):
    """Report what jobs, their allocations and tasks looked like."""

    @keyword(tags=[FORENSICS])
    def capture_job_forensics(self, *job_ids: str, lines: int = 50, agent: str | None = None) -> None:
        """Logs the state of the current test's jobs (or those given) for investigating a failure.

        For each job: its status and placement failures, each allocation with its tasks' states
        and events, and the last ``lines`` lines of each task's stdout and stderr.

        Example:
        | [Teardown] | Run Keyword If Test Failed | `Capture Job Forensics` |
        """
        if job_ids:
            targets = [SubmittedJob(job_id, REGISTRY.find(agent)) for job_id in job_ids]
        else:
            targets = self.library.tracker.current()
        if not targets:
            logger.info("No jobs were submitted in this test.")
        for target in targets:
            report = forensics.describe_job(target.agent.client, target.job_id, lines=lines)
            status = report.splitlines()[0]
            logger.info(forensics.as_html(f"Forensics: {status}", report), html=True)

"""Which test or suite submitted which job, so that forensics and cleanup know what is whose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import requests
from robot.api import logger

from nomadtest import failures
from nomadtest.api.client import NomadAPIError
from nomadtest.jobs import forensics, registration, removal
from nomadtest.listener import OwnershipListener, current_owner, owned_by
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline

# How long a test's or suite's leftover jobs get to stop when it ends.
CLEANUP_TIMEOUT = timedelta(seconds=30)
# What a failed test gets from this module in log.html (see nomadtest.failures).
FORENSICS_CAPTURE = "jobs"


@dataclass(frozen=True)
class SubmittedJob:
    job_id: str
    agent: Agent
    owner: str = ""


class JobTracker:
    """The jobs submitted in this run, by owner (full test or suite names, as agents have)."""

    def __init__(self, stop_jobs: bool) -> None:
        self.stop_jobs = stop_jobs
        self._jobs: list[SubmittedJob] = []
        self.listener = OwnershipListener(self.release, "job(s)")
        failures.register(FORENSICS_CAPTURE, lambda test: self.log_forensics(self.owned_by(test)))

    def add(self, job_id: str, agent: Agent) -> None:
        self._jobs.append(SubmittedJob(job_id, agent, current_owner()))

    def owned_by(self, owner: str) -> list[SubmittedJob]:
        return [job for job in self._jobs if job.owner == owner]

    def log_forensics(self, submitted: list[SubmittedJob], lines: int = 50) -> None:
        """Each job's status, allocations, task events and the end of its task logs, in log.html."""
        if not submitted:
            logger.info("No jobs were submitted in this test.")
        for job in submitted:
            report = forensics.describe_job(job.agent.client, job.job_id, lines=lines)
            logger.info(forensics.as_html(f"Forensics: {report.splitlines()[0]}", report), html=True)

    def release(self, owner: str | None, keep: bool = False) -> tuple[list[str], list[str]]:
        """Stop and purge what ``owner`` (None: anybody) submitted; returns ([], problems).

        Leaving jobs to this cleanup is normal use, so nothing is reported as left running;
        a job that does not stop is a problem that fails the owner. With ``keep`` (a failed
        test kept for debugging) the jobs are left as they are.
        """
        ended = [job for job in self._jobs if owner is None or owned_by(owner, job.owner)]
        self._jobs = [job for job in self._jobs if job not in ended]
        if not self.stop_jobs or keep:
            return [], []
        problems = []
        for job in ended:
            if job.agent not in REGISTRY.agents() or not job.agent.is_running:
                continue  # the agent is gone and its jobs with it
            try:
                pending = removal.stop_jobs(
                    job.agent.client,
                    [(registration.namespace_of(job.agent.client), job.job_id)],
                    True,
                    Deadline(CLEANUP_TIMEOUT),
                )
            except (NomadAPIError, requests.RequestException) as error:
                problems.append(f"job '{job.job_id}' could not be stopped: {error}")
                continue
            if pending:
                problems.append(
                    f"job '{job.job_id}' did not stop within {Deadline(CLEANUP_TIMEOUT)}: {', '.join(pending)}"
                )
        return [], problems

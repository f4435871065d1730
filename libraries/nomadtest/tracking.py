"""Which test or suite submitted which job, so that forensics and cleanup know what is whose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import requests

from . import jobs
from .client import NomadAPIError
from .listener import OwnershipListener, current_owner, owned_by
from .registry import REGISTRY, Agent
from .waiting import Deadline

# How long a test's or suite's leftover jobs get to stop when it ends.
CLEANUP_TIMEOUT = timedelta(seconds=30)


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

    def add(self, job_id: str, agent: Agent) -> None:
        self._jobs.append(SubmittedJob(job_id, agent, current_owner()))

    def current(self) -> list[SubmittedJob]:
        owner = current_owner()
        return [job for job in self._jobs if job.owner == owner]

    def release(self, owner: str | None) -> tuple[list[str], list[str]]:
        """Stop and purge what ``owner`` (None: anybody) submitted; returns ([], problems).

        Leaving jobs to this cleanup is normal use, so nothing is reported as left running;
        a job that does not stop is a problem that fails the owner.
        """
        ended = [job for job in self._jobs if owner is None or owned_by(owner, job.owner)]
        self._jobs = [job for job in self._jobs if job not in ended]
        if not self.stop_jobs:
            return [], []
        problems = []
        for job in ended:
            if job.agent not in REGISTRY.agents() or not job.agent.is_running:
                continue  # the agent is gone and its jobs with it
            try:
                pending = jobs.stop_jobs(job.agent.client, [("default", job.job_id)], True, Deadline(CLEANUP_TIMEOUT))
            except (NomadAPIError, requests.RequestException) as error:
                problems.append(f"job '{job.job_id}' could not be stopped: {error}")
                continue
            if pending:
                problems.append(
                    f"job '{job.job_id}' did not stop within {Deadline(CLEANUP_TIMEOUT)}: {', '.join(pending)}"
                )
        return [], problems

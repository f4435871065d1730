"""Keywords that wait for jobs, allocations and tasks to reach a state."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.jobs import waits
from nomadtest.library import WAIT, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, resolve


class Waiting(LibraryComponent):
    """Wait on Nomad's blocking queries until a state is reached, failing at once when it cannot be."""

    @keyword(tags=[WAIT])
    def wait_for_job_status(
        self, job_id: str, status: str, timeout: timedelta | None = None, agent: str | None = None
    ) -> None:
        """Waits until Nomad reports the job's status as ``status``: ``pending``, ``running`` or ``dead``.

        Nomad calls a job ``running`` as soon as it has a live allocation, before its tasks start:
        use `Wait For Task State` to wait for a task to run. Fails at once when the job is dead
        (and ``status`` is not), was stopped, or cannot be placed.

        Example:
        | `Wait For Job Status` | ${job} | running |
        | `Wait For Job Status` | ${job} | dead | timeout=2 min |
        """
        timeout = resolve(timeout)
        waits.wait_for_job_status(REGISTRY.for_job(job_id, agent).client, job_id, status, Deadline(timeout))

    @keyword(tags=[WAIT])
    def wait_for_allocation_status(
        self,
        job_id: str,
        status: str,
        alloc_id: str | None = None,
        timeout: timedelta | None = None,
        agent: str | None = None,
    ) -> str:
        """Waits until the allocation's client status is ``status`` and returns the allocation's id.

        ``status`` is ``pending``, ``running``, ``complete``, ``failed`` or ``lost``. Waits for the
        job's first allocation if it has none yet. Fails at once when the allocation has passed
        ``status`` (client statuses only move forward) and will not be replaced.

        Example:
        | ${alloc} = | `Wait For Allocation Status` | ${job} | running |
        | `Wait For Allocation Status` | ${job} | failed | alloc_id=${alloc} | timeout=30s |
        """
        timeout = resolve(timeout)
        alloc = waits.wait_for_allocation_status(
            REGISTRY.for_job(job_id, agent).client, job_id, status, Deadline(timeout), alloc_id
        )
        return alloc["ID"]

    @keyword(tags=[WAIT])
    def wait_for_task_state(
        self,
        job_id: str,
        state: str,
        task: str | None = None,
        alloc_id: str | None = None,
        failed: bool | None = None,
        timeout: timedelta | None = None,
        agent: str | None = None,
    ) -> str:
        """Waits until the task is in ``state`` (``pending``, ``running`` or ``dead``); returns the allocation id.

        With ``failed=True`` or ``failed=False`` the task's failed flag must match too. A dead
        task does not run again in its allocation, so waiting for anything else fails at once.

        Examples:
        | `Wait For Task State` | ${job} | running |
        | `Wait For Task State` | ${job} | dead | failed=False |
        | ${alloc} = | `Wait For Task State` | ${job} | dead | failed=True | task=app |
        """
        timeout = resolve(timeout)
        alloc = waits.wait_for_task_state(
            REGISTRY.for_job(job_id, agent).client,
            job_id,
            state,
            Deadline(timeout),
            task=task,
            alloc_id=alloc_id,
            failed=failed,
        )
        return alloc["ID"]

    @keyword(tags=[WAIT])
    def wait_for_job_to_complete_successfully(
        self, job_id: str, timeout: timedelta | None = None, agent: str | None = None
    ) -> dict[str, int]:
        """Waits until the job is dead with all allocations complete and no task failed; returns the exit codes.

        The result maps each task's name to its exit code (``task[index]`` when the job has
        several allocations). Fails at once when an allocation fails and will not be rescheduled.

        Example:
        | ${codes} = | `Wait For Job To Complete Successfully` | ${job} |
        | Should Be Equal As Integers | ${codes}[app] | 0 |
        """
        timeout = resolve(timeout)
        codes = waits.wait_for_job_success(REGISTRY.for_job(job_id, agent).client, job_id, Deadline(timeout))
        logger.info(f"Job '{job_id}' completed; exit codes: {codes}")
        return codes

    @keyword(tags=[WAIT])
    def wait_for_allocation_restarts(
        self,
        job_id: str,
        count: int = 1,
        task: str | None = None,
        alloc_id: str | None = None,
        timeout: timedelta | None = None,
        agent: str | None = None,
    ) -> int:
        """Waits until the task has been restarted at least ``count`` times in its allocation; returns the count.

        Fails at once when the task is dead or the allocation has ended with fewer restarts.

        Example:
        | `Restart Allocation` | ${job} |
        | ${restarts} = | `Wait For Allocation Restarts` | ${job} | 1 |
        """
        timeout = resolve(timeout)
        return waits.wait_for_restarts(
            REGISTRY.for_job(job_id, agent).client, job_id, count, Deadline(timeout), task, alloc_id
        )

"""Keywords that read jobs, allocations and tasks, and act on allocations."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.api.client import api_path
from nomadtest.jobs import forensics, lookup
from nomadtest.library import LIFECYCLE, QUERY, LibraryComponent
from nomadtest.registry import REGISTRY


def select_task(job_id: str, task: str | None, alloc_id: str | None, agent: str | None) -> tuple[dict, str]:
    """The allocation (given or latest) and the task's name in it."""
    alloc = lookup.select_allocation(REGISTRY.for_job(job_id, agent).client, job_id, alloc_id)
    return alloc, lookup.resolve_task(alloc, task)


class JobState(LibraryComponent):
    """Read jobs, allocations and tasks; restart and signal them."""

    @keyword(tags=[QUERY])
    def get_job_status(self, job_id: str, agent: str | None = None) -> str:
        """Returns the job's status as Nomad reports it: ``pending``, ``running`` or ``dead``.

        Example:
        | ${status} = | `Get Job Status` | ${job} |
        """
        return lookup.get_job(REGISTRY.for_job(job_id, agent).client, job_id).get("Status", "")

    @keyword(tags=[QUERY])
    def get_job_allocations(self, job_id: str, agent: str | None = None) -> list[dict]:
        """Returns the job's allocations, oldest first, as Nomad's allocation stubs.

        Each is a dictionary with ``ID``, ``Name``, ``ClientStatus``, ``TaskStates`` and more.

        Example:
        | ${allocs} = | `Get Job Allocations` | ${job} |
        | Length Should Be | ${allocs} | 1 |
        | Should Be Equal | ${allocs}[0][ClientStatus] | complete |
        """
        return lookup.job_allocations(REGISTRY.for_job(job_id, agent).client, job_id)

    @keyword(tags=[QUERY])
    def get_allocation(self, job_id: str, alloc_id: str | None = None, agent: str | None = None) -> dict:
        """Returns the full allocation (Nomad's JSON as a dictionary): the one given or the latest.

        Example:
        | ${alloc} = | `Get Allocation` | ${job} |
        | Log | ${alloc}[NodeName] |
        """
        return lookup.select_allocation(REGISTRY.for_job(job_id, agent).client, job_id, alloc_id)

    @keyword(tags=[QUERY])
    def get_evaluation_failures(self, job_id: str, agent: str | None = None) -> list[str]:
        """Returns why Nomad could not place the job, one line per task group; empty when it could.

        Example:
        | ${failures} = | `Get Evaluation Failures` | ${job} |
        | Should Contain | ${failures}[0] | missing drivers |
        """
        client = REGISTRY.for_job(job_id, agent).client
        lookup.get_job(client, job_id)
        return lookup.placement_failures(client.get(api_path("job", job_id, "evaluations")) or [])

    @keyword(tags=[QUERY])
    def get_task_exit_code(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """Returns the exit code of the task's last run, from its latest ``Terminated`` event.

        Fails when the task has not terminated.

        Example:
        | ${code} = | `Get Task Exit Code` | ${job} |
        | Should Be Equal As Integers | ${code} | 3 |
        """
        alloc, name = select_task(job_id, task, alloc_id, agent)
        code = lookup.exit_code(lookup.task_state(alloc, name))
        if code is None:
            raise AssertionError(
                f"Task '{name}' of allocation {lookup.short(alloc['ID'])} has not terminated.\n"
                + forensics.describe_task(None, alloc, name)
            )
        return code

    @keyword(tags=[QUERY])
    def get_task_restart_count(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """Returns how many times Nomad has restarted the task in its allocation.

        Example:
        | ${restarts} = | `Get Task Restart Count` | ${job} |
        """
        alloc, name = select_task(job_id, task, alloc_id, agent)
        return int((lookup.task_state(alloc, name) or {}).get("Restarts") or 0)

    @keyword(tags=[LIFECYCLE])
    def restart_allocation(
        self,
        job_id: str,
        task: str | None = None,
        alloc_id: str | None = None,
        all_tasks: bool = False,
        agent: str | None = None,
    ) -> None:
        """Asks Nomad to restart ``task`` in place, or every running task of the allocation without one.

        ``all_tasks=True`` also restarts tasks that have finished (such as prestart tasks). The
        restart is requested, not awaited: follow with `Wait For Allocation Restarts`.

        Example:
        | `Restart Allocation` | ${job} |
        | `Wait For Allocation Restarts` | ${job} | 1 |
        """
        client = REGISTRY.for_job(job_id, agent).client
        alloc = lookup.select_allocation(client, job_id, alloc_id)
        body = {"AllTasks": all_tasks}
        if task:
            body["TaskName"] = lookup.resolve_task(alloc, task)
        client.put(api_path("client", "allocation", alloc["ID"], "restart"), body)
        logger.info(f"Requested restart of {f'task {task!r}' if task else 'allocation'} {lookup.short(alloc['ID'])}.")

    @keyword(tags=[LIFECYCLE])
    def signal_task(
        self,
        job_id: str,
        signal: str,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Sends ``signal`` (such as ``SIGUSR1``) to the task through Nomad.

        Example:
        | `Signal Task` | ${job} | SIGQUIT |
        | `Wait Until Task Log Contains` | ${job} | Full thread dump |
        """
        alloc, name = select_task(job_id, task, alloc_id, agent)
        REGISTRY.for_job(job_id, agent).client.put(
            api_path("client", "allocation", alloc["ID"], "signal"), {"Signal": signal, "Task": name}
        )
        logger.info(f"Sent {signal} to task '{name}' of allocation {lookup.short(alloc['ID'])}.")

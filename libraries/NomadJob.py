"""Robot Framework keywords for submitting Nomad jobs and waiting on their allocations and tasks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robotlibcore import DynamicCore

from nomadtest import forensics, jobs, waits
from nomadtest.client import NomadAPIError, NomadClient
from nomadtest.listener import current_owner, owned_by
from nomadtest.registry import REGISTRY, Agent
from nomadtest.timeouts import Deadline

DEFAULT_TIMEOUT = timedelta(seconds=60)
# How long a test's or suite's leftover jobs get to stop when it ends.
CLEANUP_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class SubmittedJob:
    job_id: str
    agent: Agent
    owner: str = ""


class JobTracker:
    """Which test or suite submitted which job, so that forensics and cleanup know what is whose.

    It is the library's listener. Owners are full test or suite names, as NomadServer's agents have.
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, stop_jobs: bool) -> None:
        self.stop_jobs = stop_jobs
        self._jobs: list[SubmittedJob] = []

    def add(self, job_id: str, agent: Agent) -> None:
        self._jobs.append(SubmittedJob(job_id, agent, current_owner()))

    def current(self) -> list[SubmittedJob]:
        owner = current_owner()
        return [job for job in self._jobs if job.owner == owner]

    def end_test(self, data, result) -> None:
        self._release(result.full_name)

    def end_suite(self, data, result) -> None:
        self._release(result.full_name)

    def close(self) -> None:
        self._release(None)

    def _release(self, owner: str | None) -> None:
        ended = [job for job in self._jobs if owner is None or owned_by(owner, job.owner)]
        self._jobs = [job for job in self._jobs if job not in ended]
        if self.stop_jobs:
            for job in ended:
                self._stop(job)

    @staticmethod
    def _stop(job: SubmittedJob) -> None:
        if job.agent not in REGISTRY.agents():
            return  # the agent is gone and its jobs with it
        try:
            stop_job(job.agent.client, job.job_id, purge=True, deadline=Deadline(CLEANUP_TIMEOUT))
        except (AssertionError, NomadAPIError, OSError) as error:
            logger.warn(f"Could not stop job '{job.job_id}' after its owner ended: {error}")


def stop_job(client: NomadClient, job_id: str, purge: bool, deadline: Deadline) -> None:
    """Deregister the job and wait until the allocations it had are terminal; an unknown job is fine."""
    try:
        allocations = client.get(f"/v1/job/{job_id}/allocations") or []
        client.delete(f"/v1/job/{job_id}", purge=str(purge).lower())
    except NomadAPIError as error:
        if error.status == 404:
            return
        raise
    live = [alloc["ID"] for alloc in allocations if not jobs.is_terminal(alloc)]
    waits.wait_for_allocations_terminal(client, live, deadline)


def stop_all_jobs(client: NomadClient, purge: bool, deadline: Deadline) -> list[str]:
    """Stop every job of the default namespace, waiting for their allocations; returns their ids.

    Without ``purge``, jobs already stopped are left alone.
    """
    stopped = []
    for job in client.get("/v1/jobs") or []:
        if job.get("Stop") and not purge:
            continue
        stop_job(client, job["ID"], purge, deadline)
        stopped.append(job["ID"])
    return stopped


class NomadJob(DynamicCore):
    """Submit Nomad jobs from templates and wait on their jobs, allocations and tasks.

    = Agents =

    Every keyword talks to the Nomad agent named by its ``agent`` argument, by default the one
    started most recently with `Start Nomad Server` of the NomadServer library.

    = Job templates =

    `Submit Job` renders a Jinja2 template from ``templates/jobs/<name>.hcl.j2`` (or any file, or
    text given with ``hcl=``) with the variables given, plus a unique ``job_id``. Values are written
    into the HCL with the ``hcl`` filter, e.g. ``args = {{ args | hcl }}``. A variable the template
    uses but nobody passed is an error naming it. The job is parsed by Nomad itself
    (``/v1/jobs/parse``), so a syntax error quotes Nomad's message and the rendered line at fault.

    Templates shipped with the framework:
    | =Template=     | =Job=                                            |
    | java-batch     | a batch job running a JAR (driver ``crunjar``)  |
    | java-service   | the same as a long-running service job           |
    | raw-exec       | a command under ``raw_exec``, for self-tests     |

    = Selecting allocations and tasks =

    Keywords about an allocation or task take the job id, then optionally ``task`` (default: the
    only task of the job's group; a group with several tasks needs the name) and ``alloc_id``
    (default: the job's most recently created allocation; a unique prefix is enough).

    Waits without ``alloc_id`` follow rescheduling: when the allocation watched fails and Nomad
    replaces it, they go on with the replacement.

    = Waiting =

    Waits use Nomad's blocking queries and return as soon as the state changes. They fail at once
    when the state awaited can no longer happen: waiting for a task to run when it is already
    dead, or for a job Nomad cannot place (the failure quotes Nomad's reasons, such as
    ``Constraint "missing drivers" filtered 1 node``). On timeout they fail with the last status
    seen, the task events and the last lines of each task's stdout and stderr.

    = Ownership =

    Jobs belong to the test, or to the suite when submitted in suite setup. When their owner ends,
    the library stops and purges them (unless imported with ``stop_jobs=False``), and
    `Capture Job Forensics` reports on the current test's jobs.
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(self, stop_jobs: bool = True) -> None:
        """``stop_jobs``: stop and purge each test's and suite's jobs when it ends."""
        self._tracker = JobTracker(stop_jobs)
        self.ROBOT_LIBRARY_LISTENER = self._tracker
        super().__init__([])

    # -- submitting and stopping --------------------------------------------------------------

    @keyword
    def submit_job(
        self,
        template_or_file: str | None = None,
        hcl: str | None = None,
        unique: bool = True,
        agent: str | None = None,
        **variables,
    ) -> str:
        """Renders a job template with ``variables``, registers the job and returns its id.

        ``template_or_file`` is a template name from ``templates/jobs/`` (``java-batch``) or the
        path of a template file; alternatively ``hcl`` gives the template text itself. All three
        are Jinja2 templates: a literal ``{{`` (as in a ``template`` block) needs
        ``{% raw %}...{% endraw %}``.

        The job id is ``<prefix>-<8 hex digits>``, the prefix being ``job_id`` if given, otherwise
        the template's name; it reaches the template as ``job_id``. With ``unique=False`` the
        ``job_id`` given is used as is, for example to update a job submitted earlier.

        The rendered HCL is logged. Fails with Nomad's own message (and the offending lines) when
        the HCL does not parse, and with Nomad's reason when it rejects the job.

        Examples:
        | ${job} = | `Submit Job` | java-batch | jar_path=${JAR} | args=${args} | memory=${512} |
        | ${job} = | `Submit Job` | raw-exec | command=/bin/echo | args=${{ ["hello"] }} | job_id=echo |
        | ${job} = | `Submit Job` | ${CURDIR}/jobs/custom.hcl.j2 | image=x |
        | ${job} = | `Submit Job` | hcl=${spec} |
        """
        target = REGISTRY.find(agent)
        client = target.client
        rendered = jobs.render_job(template_or_file, variables, hcl_text=hcl, unique=unique)
        logger.info(forensics.as_html(f"Job {rendered.job_id} from {rendered.source}", rendered.hcl), html=True)
        job = jobs.parse_job(client, rendered)
        answer = jobs.register_job(client, job)
        job_id = job.get("ID", rendered.job_id)
        self._tracker.add(job_id, target)
        if answer.get("Warnings"):
            logger.warn(f"Nomad accepted job '{job_id}' with warnings: {answer['Warnings']}")
        logger.info(f"Submitted job '{job_id}' (evaluation {answer.get('EvalID', '?')}).")
        return job_id

    @keyword
    def stop_job(
        self, job_id: str, purge: bool = True, timeout: timedelta = DEFAULT_TIMEOUT, agent: str | None = None
    ) -> None:
        """Stops the job (and purges it unless ``purge=False``), waiting until its allocations have stopped.

        Stopping a job that does not exist passes.

        Example:
        | `Stop Job` | ${job} |
        | `Stop Job` | ${job} | purge=False | timeout=2 min |
        """
        stop_job(REGISTRY.client(agent), job_id, purge, Deadline(timeout))

    @keyword
    def stop_all_jobs(
        self, purge: bool = True, timeout: timedelta = DEFAULT_TIMEOUT, agent: str | None = None
    ) -> list[str]:
        """Stops (and purges unless ``purge=False``) every job of the agent's cluster, whoever submitted it.

        Jobs of the default namespace are stopped: the one the framework's templates use.

        Waits until their allocations have stopped and returns the job ids. Meant for suite
        teardowns that check for leaks afterwards: the library's own cleanup of a suite's jobs
        runs only after the suite teardown.

        Example:
        | [Teardown] | `Stop All Jobs` |
        | ${stopped} = | `Stop All Jobs` | purge=False | timeout=2 min |
        """
        stopped = stop_all_jobs(REGISTRY.client(agent), purge, Deadline(timeout))
        logger.info(f"Stopped {len(stopped)} job(s): {', '.join(stopped) or 'none'}.")
        return stopped

    # -- reading state ------------------------------------------------------------------------

    @keyword
    def get_job_status(self, job_id: str, agent: str | None = None) -> str:
        """Returns the job's status as Nomad reports it: ``pending``, ``running`` or ``dead``.

        Example:
        | ${status} = | `Get Job Status` | ${job} |
        """
        return jobs.get_job(REGISTRY.client(agent), job_id).get("Status", "")

    @keyword
    def get_job_allocations(self, job_id: str, agent: str | None = None) -> list[dict]:
        """Returns the job's allocations, oldest first, as Nomad's allocation stubs.

        Each is a dictionary with ``ID``, ``Name``, ``ClientStatus``, ``TaskStates`` and more.

        Example:
        | ${allocs} = | `Get Job Allocations` | ${job} |
        | Length Should Be | ${allocs} | 1 |
        | Should Be Equal | ${allocs}[0][ClientStatus] | complete |
        """
        return jobs.job_allocations(REGISTRY.client(agent), job_id)

    @keyword
    def get_allocation(self, job_id: str, alloc_id: str | None = None, agent: str | None = None) -> dict:
        """Returns the full allocation (Nomad's JSON as a dictionary): the one given or the latest.

        Example:
        | ${alloc} = | `Get Allocation` | ${job} |
        | Log | ${alloc}[NodeName] |
        """
        return jobs.select_allocation(REGISTRY.client(agent), job_id, alloc_id)

    @keyword
    def get_evaluation_failures(self, job_id: str, agent: str | None = None) -> list[str]:
        """Returns why Nomad could not place the job, one line per task group; empty when it could.

        Example:
        | ${failures} = | `Get Evaluation Failures` | ${job} |
        | Should Contain | ${failures}[0] | missing drivers |
        """
        client = REGISTRY.client(agent)
        jobs.get_job(client, job_id)
        return jobs.placement_failures(client.get(f"/v1/job/{job_id}/evaluations") or [])

    def _task(self, job_id: str, task: str | None, alloc_id: str | None, agent: str | None) -> tuple[dict, str]:
        alloc = jobs.select_allocation(REGISTRY.client(agent), job_id, alloc_id)
        return alloc, jobs.resolve_task(alloc, task)

    @keyword
    def get_task_events(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> list[dict]:
        """Returns the task's events, oldest first, each a dictionary of ``type``, ``message``, ``details``, ``time``.

        ``message`` is Nomad's display message, ``details`` its detail map (``exit_code``,
        ``signal``...) and ``time`` a UTC datetime.

        Example:
        | ${events} = | `Get Task Events` | ${job} |
        | Should Be Equal | ${events}[-1][type] | Terminated |
        """
        alloc, name = self._task(job_id, task, alloc_id, agent)
        return jobs.task_events(jobs.task_state(alloc, name))

    @keyword
    def task_events_should_contain(
        self,
        job_id: str,
        event_type: str,
        message: str | None = None,
        regexp: bool = False,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> dict:
        """Fails unless the task has an event of ``event_type`` whose message contains ``message``.

        With ``regexp=True`` the message is a regular expression searched for in the event's
        message. Returns the first matching event; the failure lists every event seen.

        Examples:
        | `Task Events Should Contain` | ${job} | Terminated | Exit Code: 3 |
        | `Task Events Should Contain` | ${job} | Driver Failure | no such file | task=app |
        | `Task Events Should Contain` | ${job} | Restarting | ^Restart within policy$ | regexp=True |
        """
        alloc, name = self._task(job_id, task, alloc_id, agent)
        state = jobs.task_state(alloc, name)
        for event in (state or {}).get("Events") or []:
            if event.get("Type") != event_type:
                continue
            text = jobs.event_message(event)
            if message is None or (re.search(message, text) if regexp else message in text):
                return jobs.task_events({"Events": [event]})[0]
        wanted = f"'{event_type}'"
        if message is not None:
            wanted += f" with message {'matching' if regexp else 'containing'} '{message}'"
        raise AssertionError(
            f"Task '{name}' of allocation {jobs.short(alloc['ID'])} has no event {wanted}.\n"
            + forensics.describe_task(None, alloc, name)
        )

    @keyword
    def get_task_exit_code(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """Returns the exit code of the task's last run, from its latest ``Terminated`` event.

        Fails when the task has not terminated.

        Example:
        | ${code} = | `Get Task Exit Code` | ${job} |
        | Should Be Equal As Integers | ${code} | 3 |
        """
        alloc, name = self._task(job_id, task, alloc_id, agent)
        code = jobs.exit_code(jobs.task_state(alloc, name))
        if code is None:
            raise AssertionError(
                f"Task '{name}' of allocation {jobs.short(alloc['ID'])} has not terminated.\n"
                + forensics.describe_task(None, alloc, name)
            )
        return code

    @keyword
    def get_task_restart_count(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """Returns how many times Nomad has restarted the task in its allocation.

        Example:
        | ${restarts} = | `Get Task Restart Count` | ${job} |
        """
        alloc, name = self._task(job_id, task, alloc_id, agent)
        return int((jobs.task_state(alloc, name) or {}).get("Restarts") or 0)

    # -- acting on allocations ----------------------------------------------------------------

    @keyword
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
        alloc = jobs.select_allocation(REGISTRY.client(agent), job_id, alloc_id)
        body = {"AllTasks": all_tasks}
        if task:
            body["TaskName"] = jobs.resolve_task(alloc, task)
        REGISTRY.client(agent).put(f"/v1/client/allocation/{alloc['ID']}/restart", body)
        logger.info(f"Requested restart of {f'task {task!r}' if task else 'allocation'} {jobs.short(alloc['ID'])}.")

    @keyword
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
        alloc, name = self._task(job_id, task, alloc_id, agent)
        REGISTRY.client(agent).put(f"/v1/client/allocation/{alloc['ID']}/signal", {"Signal": signal, "Task": name})
        logger.info(f"Sent {signal} to task '{name}' of allocation {jobs.short(alloc['ID'])}.")

    # -- waiting ------------------------------------------------------------------------------

    @keyword
    def wait_for_job_status(
        self, job_id: str, status: str, timeout: timedelta = DEFAULT_TIMEOUT, agent: str | None = None
    ) -> None:
        """Waits until Nomad reports the job's status as ``status``: ``pending``, ``running`` or ``dead``.

        Nomad calls a job ``running`` as soon as it has a live allocation, before its tasks start:
        use `Wait For Task State` to wait for a task to run. Fails at once when the job is dead
        (and ``status`` is not), was stopped, or cannot be placed.

        Example:
        | `Wait For Job Status` | ${job} | running |
        | `Wait For Job Status` | ${job} | dead | timeout=2 min |
        """
        waits.wait_for_job_status(REGISTRY.client(agent), job_id, status, Deadline(timeout))

    @keyword
    def wait_for_allocation_status(
        self,
        job_id: str,
        status: str,
        alloc_id: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
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
        alloc = waits.wait_for_allocation_status(REGISTRY.client(agent), job_id, status, Deadline(timeout), alloc_id)
        return alloc["ID"]

    @keyword
    def wait_for_task_state(
        self,
        job_id: str,
        state: str,
        task: str | None = None,
        alloc_id: str | None = None,
        failed: bool | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
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
        alloc = waits.wait_for_task_state(
            REGISTRY.client(agent), job_id, state, Deadline(timeout), task=task, alloc_id=alloc_id, failed=failed
        )
        return alloc["ID"]

    @keyword
    def wait_for_job_to_complete_successfully(
        self, job_id: str, timeout: timedelta = DEFAULT_TIMEOUT, agent: str | None = None
    ) -> dict[str, int]:
        """Waits until the job is dead with all allocations complete and no task failed; returns the exit codes.

        The result maps each task's name to its exit code (``task[index]`` when the job has
        several allocations). Fails at once when an allocation fails and will not be rescheduled.

        Example:
        | ${codes} = | `Wait For Job To Complete Successfully` | ${job} |
        | Should Be Equal As Integers | ${codes}[app] | 0 |
        """
        codes = waits.wait_for_job_success(REGISTRY.client(agent), job_id, Deadline(timeout))
        logger.info(f"Job '{job_id}' completed; exit codes: {codes}")
        return codes

    @keyword
    def wait_for_allocation_restarts(
        self,
        job_id: str,
        count: int = 1,
        task: str | None = None,
        alloc_id: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        agent: str | None = None,
    ) -> int:
        """Waits until the task has been restarted at least ``count`` times in its allocation; returns the count.

        Fails at once when the task is dead or the allocation has ended with fewer restarts.

        Example:
        | `Restart Allocation` | ${job} |
        | ${restarts} = | `Wait For Allocation Restarts` | ${job} | 1 |
        """
        return waits.wait_for_restarts(REGISTRY.client(agent), job_id, count, Deadline(timeout), task, alloc_id)

    # -- forensics ----------------------------------------------------------------------------

    @keyword
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
            targets = self._tracker.current()
        if not targets:
            logger.info("No jobs were submitted in this test.")
        for target in targets:
            report = forensics.describe_job(target.agent.client, target.job_id, lines=lines)
            status = report.splitlines()[0]
            logger.info(forensics.as_html(f"Forensics: {status}", report), html=True)

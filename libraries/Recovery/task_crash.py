"""Keywords that crash a task behind Nomad's back, follow processes, and check a task was recovered."""

from __future__ import annotations

from datetime import timedelta

import psutil
from robot.api import logger
from robot.api.deco import keyword

from nomadtest.agents import crashes
from nomadtest.host import processes
from nomadtest.jobs import logs, lookup
from nomadtest.library import ASSERTION, CRASH, QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, resolve


class TaskCrash(LibraryComponent):
    """Find and kill a task's JVM, follow processes, and check recovery after a crash."""

    @keyword(tags=[QUERY])
    def get_task_process_id(
        self, job_id: str, task: str | None = None, alloc_id: str | None = None, agent: str | None = None
    ) -> int:
        """Returns the host pid of the task's JVM.

        The JVM is found by the ``NOMAD_ALLOC_ID`` and ``NOMAD_TASK_NAME`` in its
        environment, which works for any driver that runs a ``java`` process. Fails
        unless exactly one runs.

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | ${pid} = | `Get Task Process Id` | ${job} | task=web |
        """
        alloc = lookup.select_allocation(REGISTRY.for_job(job_id, agent).client, job_id, alloc_id)
        name = lookup.resolve_task(alloc, task)
        found = crashes.task_jvms(alloc["ID"], name)
        if len(found) != 1:
            raise AssertionError(
                f"Expected one JVM of task '{name}' (allocation {lookup.short(alloc['ID'])}), found {len(found)}: "
                + (", ".join(str(pid) for pid in found) or "none")
            )
        return found[0]

    @keyword(tags=[CRASH])
    def kill_task_process(
        self,
        job_id: str,
        signal: str = "SIGKILL",
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> int:
        """Sends ``signal`` (default ``SIGKILL``) to the task's JVM behind Nomad's back; returns its pid.

        Nomad and the driver are not told: this is the container dying on its own,
        as when the kernel's OOM killer or an operator kills it.

        Example:
        | ${old} = | `Kill Task Process` | ${job} |
        | Wait For Allocation Restarts | ${job} | 1 |
        """
        number = crashes.parse_signal(signal)
        pid = self.get_task_process_id(job_id, task, alloc_id, agent)
        psutil.Process(pid).send_signal(number)
        logger.info(f"Sent {number.name} to JVM pid {pid} of job '{job_id}'.")
        return pid

    @keyword(tags=[ASSERTION])
    def process_should_be_running(self, pid: int, message: str | None = None) -> None:
        """Fails unless process ``pid`` runs; a zombie waiting to be reaped has exited.

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | `Process Should Be Running` | ${pid} |
        """
        if not processes.is_alive(pid):
            raise AssertionError(message or f"Process {pid} is not running.")

    @keyword(tags=[ASSERTION])
    def process_should_not_be_running(self, pid: int, message: str | None = None) -> None:
        """Fails when process ``pid`` runs; a zombie waiting to be reaped counts as gone.

        Example:
        | `Process Should Not Be Running` | ${info}[pid] |
        """
        if processes.is_alive(pid):
            raise AssertionError(message or f"Process {pid} is still running.")

    @keyword(tags=[WAIT])
    def wait_until_process_exits(self, pid: int, timeout: timedelta | None = None) -> None:
        """Waits until process ``pid`` has exited (a zombie counts as exited); fails with what it still is.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | Stop Job | ${job} | |
        | `Wait Until Process Exits` | ${pid} | |
        """
        timeout = resolve(timeout, 0.5)
        deadline = Deadline(timeout)
        try:
            process = psutil.Process(int(pid))
        except psutil.NoSuchProcess:
            return
        crashes.wait_gone(process, deadline)

    @keyword(tags=[ASSERTION, WAIT])
    def task_should_have_been_recovered(
        self,
        job_id: str,
        pid: int,
        restarts: int = 0,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
        recovery_log: str = "recovered task",
        timeout: timedelta | None = None,
    ) -> None:
        """Checks that a running task survived the last crash of its agent or driver plugin.

        In order, within ``timeout``:

        - the agent log, since the crash, has a line with ``recovery_log`` and the task's
          allocation id: the driver recovered the task (empty ``recovery_log`` skips this);
        - the allocation and the task are ``running``, restarted ``restarts`` times in all;
        - the task's JVM is still process ``pid`` (from `Get Task Process Id` before the crash);
        - the task writes new lines to its stdout after the recovery.

        Fails at once when a task event since the crash shows the task was not recovered
        (``Failed Restoring Task``, ``Driver Failure``, ``Restarting``, ``Terminated``...),
        quoting the events. Logs the time from the crash, and from the agent's restart, to
        the driver's recovery (``Timing:``).

        Example:
        | ${pid} = | `Get Task Process Id` | ${job} |
        | Restart Nomad Client | | |
        | `Task Should Have Been Recovered` | ${job} | ${pid} |
        """
        timeout = resolve(timeout)
        target = REGISTRY.find(agent)
        client = target.client
        deadline = Deadline(timeout)
        alloc = lookup.select_allocation(client, job_id, alloc_id)
        name = lookup.resolve_task(alloc, task)
        disruption = target.last_disruption
        since = disruption.at if disruption else 0.0
        crash = disruption.what if disruption else "the start"
        line = crashes.wait_for_recovery_line(target, alloc["ID"], name, recovery_log, disruption, deadline)
        alloc = lookup.get_allocation(client, alloc["ID"])
        state = lookup.task_state(alloc, name) or {}
        problems = []
        if alloc.get("ClientStatus") != "running" or state.get("State") != "running":
            problems.append(f"the allocation is {alloc.get('ClientStatus')} and the task {state.get('State')}")
        if state.get("Restarts", 0) != int(restarts):
            problems.append(f"the task was restarted {state.get('Restarts', 0)} time(s), expected {restarts}")
        now = crashes.task_jvms(alloc["ID"], name)
        if now != [int(pid)]:
            problems.append(f"its JVM is now {', '.join(map(str, now)) or 'gone'}, not the same pid {pid}")
        if problems:
            raise AssertionError(
                f"Task '{name}' was not recovered after {crash}: "
                + "; ".join(problems)
                + ".\n"
                + crashes.events_since(state, since)
            )
        try:
            seen = logs.read_log(client, alloc["ID"], name)
            growth = crashes.LogGrowth(len(seen))
            logs.follow_log(client, alloc["ID"], name, "stdout", growth, deadline, lambda: False)
        except logs.LogWaitError as error:
            raise AssertionError(f"Task '{name}' was recovered after {crash} but its stdout {error}.") from None
        timing = crashes.recovery_timing(name, line, disruption)
        if timing:
            logger.info(timing)
        logger.info(
            f"Task '{name}' recovered after {crash}: running, {restarts} restart(s), JVM pid {pid}, output flowing."
        )

"""Keywords that measure how long jobs take to start and to run."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.jobs import logs, lookup, registration, removal, waits
from nomadtest.library import PERFORMANCE, WAIT, LibraryComponent
from nomadtest.perf import startup
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline

DEFAULT_TIMEOUT = timedelta(seconds=60)


class Startup(LibraryComponent):
    """Measure job starts, one after another or many at once."""

    @keyword(tags=[PERFORMANCE, WAIT])
    def measure_job_startup_time(
        self,
        template: str = "java-batch",
        runs: int = 1,
        marker: str = startup.START_PROBE_MARKER,
        timeout: timedelta = DEFAULT_TIMEOUT,
        agent: str | None = None,
        **variables: Any,
    ) -> dict[str, list[float]]:
        """Runs a batch job ``runs`` times, one after another, and returns how long each took to start.

        Each run submits the job (``template`` and ``variables`` as for `Submit Job`), waits up to
        ``timeout`` for it to complete successfully, reads its times and stops it. The result maps
        each figure to its samples, in seconds, one per run:

        | = Key = | = Seconds = |
        | ``started`` | from the job's submission (Nomad's ``SubmitTime``) to the task's ``Started`` event |
        | ``main`` | from the submission to the JVM's ``main`` (absent when ``marker`` is empty) |
        | ``submit`` | the framework's own time in `Submit Job` (render, Nomad's parse, register) |
        | ``detect`` | from Nomad's ``Terminated`` event to the wait noticing the job complete |
        | ``stop`` | the framework's time in `Stop Job` (stop, wait for the allocations, purge) |

        The JVM's ``main`` is the time the task printed after ``marker``, in microseconds since the
        epoch: the first line of the ``start-probe`` JAR.

        ``jobs`` lists the job ids. Each run is logged; so is a summary with medians and p90s.
        Fails as the wait does when a run does not complete, and when the task printed no
        ``marker`` line, with the end of its log.

        Examples:
        | ${startup} = | `Measure Job Startup Time` | jar_path=${JARS}/start-probe.jar | runs=10 |
        | `Record Metric` | startup_to_main | ${startup}[main] | s |
        | ${startup} = | `Measure Job Startup Time` | jar_path=${JARS}/hello.jar | marker=${EMPTY} | memory=${512} |
        """
        if runs < 1:
            raise ValueError(f"runs must be 1 or more, not {runs}.")
        job_library = self.library.job_library()
        client = REGISTRY.client(agent)
        measured: list[startup.StartupRun] = []
        for number in range(1, runs + 1):
            run = self._measure_once(job_library, client, template, marker, timeout, agent, variables)
            logger.info(f"Run {number}/{runs}: {run.describe()}")
            measured.append(run)
        result: dict[str, Any] = {
            "started": [run.to_started for run in measured],
            "submit": [run.submit_seconds for run in measured],
            "detect": [run.detect_seconds for run in measured if run.detect_seconds is not None],
            "stop": [run.stop_seconds for run in measured],
            "jobs": [run.job_id for run in measured],
        }
        if marker:
            result["main"] = [run.to_main for run in measured]
        logger.info(f"Startup times over {runs} run(s):\n{startup.summary(_figures(result))}")
        return result

    @staticmethod
    def _measure_once(
        job_library: Any,
        client: Any,
        template: str,
        marker: str,
        timeout: timedelta,
        agent: str | None,
        variables: dict[str, Any],
    ) -> startup.StartupRun:
        began = time.monotonic()
        job_id = job_library.run_keyword("submit_job", [template], {"agent": agent, **variables})
        submitted_in = time.monotonic() - began
        waits.wait_for_job_success(client, job_id, Deadline(timeout))
        noticed = time.time()
        alloc = lookup.select_allocation(client, job_id)
        task = lookup.resolve_task(alloc, None)
        started, terminated = startup.task_timeline(alloc, task)
        main = None
        if marker:
            text = logs.read_log(client, alloc["ID"], task, "stdout")
            main = startup.marker_time(text, marker)
            if main is None:
                raise startup.StartupError(
                    f"Task '{task}' of job '{job_id}' printed no line starting with '{marker}'.\n"
                    + logs.last_lines_note(text)
                )
        submitted = startup.submit_time(lookup.get_job(client, job_id))
        stopping = time.monotonic()
        job_library.run_keyword("stop_job", [job_id], {"agent": agent})
        return startup.StartupRun(
            job_id=job_id,
            submitted=submitted,
            started=started,
            main=main,
            submit_seconds=submitted_in,
            detect_seconds=None if terminated is None else max(noticed - terminated, 0.0),
            stop_seconds=time.monotonic() - stopping,
        )

    @keyword(tags=[PERFORMANCE, WAIT])
    def measure_concurrent_job_runs(
        self,
        count: int = 20,
        template: str = "java-batch",
        timeout: timedelta = timedelta(minutes=5),
        agent: str | None = None,
        **variables: Any,
    ) -> dict[str, Any]:
        """Submits ``count`` batch jobs at once, waits until every one completed successfully, stops them all.

        ``template`` and ``variables`` are as for `Submit Job`; give each job resources small
        enough for all of them to fit on the node at once (``cpu=${100}``), or Nomad queues some.
        Fails when any job does not complete within ``timeout`` (counted from the first
        submission), as the wait does.

        Returns, in seconds:

        | = Key = | = Meaning = |
        | ``total`` | from the first submission to the last completion noticed, as the test saw it |
        | ``nomad_total`` | from the first ``SubmitTime`` to the last ``Terminated`` event, by Nomad's clock |
        | ``durations`` | each job's time from its ``SubmitTime`` to its task's ``Terminated`` event |
        | ``jobs`` | the job ids |

        Example:
        | ${run} = | `Measure Concurrent Job Runs` | 20 | jar_path=${JARS}/hello.jar | cpu=${100} | memory=${128} |
        | `Record Metric` | concurrent_jobs_total | ${run}[total] | s |
        """
        if count < 1:
            raise ValueError(f"count must be 1 or more, not {count}.")
        job_library = self.library.job_library()
        client = REGISTRY.client(agent)
        deadline = Deadline(timeout)
        began = time.monotonic()
        submitted = [
            job_library.run_keyword("submit_job", [template], {"agent": agent, **variables}) for _ in range(count)
        ]
        for job_id in submitted:
            waits.wait_for_job_success(client, job_id, deadline)
        total = time.monotonic() - began
        durations, first, last = [], None, None
        for job_id in submitted:
            alloc = lookup.select_allocation(client, job_id)
            _, terminated = startup.task_timeline(alloc, lookup.resolve_task(alloc, None))
            at = startup.submit_time(lookup.get_job(client, job_id))
            end = terminated if terminated is not None else at
            durations.append(end - at)
            first = at if first is None else min(first, at)
            last = end if last is None else max(last, end)
        pending = removal.stop_jobs(
            client, [(registration.namespace_of(client), job_id) for job_id in submitted], True, Deadline(timeout)
        )
        if pending:
            raise AssertionError(
                f"Allocations still running {Deadline(timeout)} after the jobs were stopped: {pending}"
            )
        result = {"total": total, "nomad_total": last - first, "durations": durations, "jobs": submitted}
        logger.info(
            f"{count} concurrent job(s) completed in {total:.2f} s ({last - first:.2f} s by Nomad's clock).\n"
            + startup.summary({"per job": durations})
        )
        return result


def _figures(result: dict[str, Any]) -> dict[str, list[float]]:
    return {name: values for name, values in result.items() if name != "jobs"}

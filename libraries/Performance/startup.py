"""Keywords that measure how long jobs take to start and to run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api.deco import keyword

from nomadtest.library import PERFORMANCE, WAIT, LibraryComponent
from nomadtest.perf import startup
from nomadtest.waiting import resolve


class Startup(LibraryComponent):
    """Measure job starts, one after another or many at once."""

    @keyword(tags=[PERFORMANCE, WAIT])
    def measure_job_startup_time(
        self,
        template: str = "java-batch",
        runs: int = 1,
        marker: str = startup.START_PROBE_MARKER,
        timeout: timedelta | None = None,
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
        | ``submit`` | the time spent in `Submit Job` (render, Nomad's parse, register) |
        | ``submit_nomad`` | of ``submit``, the time in Nomad's API calls; the rest is the framework's own |
        | ``submit_render``, ``submit_parse``, ``submit_register``, ``submit_track`` | ``submit`` by step |
        | ``detect`` | from Nomad's ``Terminated`` event to the wait noticing the job complete |
        | ``detect_nomad`` | of ``detect``, the time until Nomad's server recorded the allocation's end |
        | ``stop`` | the time spent in `Stop Job` (stop, wait for the allocations, purge) |
        | ``stop_nomad`` | of ``stop``, the time in Nomad's API calls |
        | ``submit_own``, ``detect_own``, ``stop_own`` | the framework's own part: each figure less Nomad's |

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
        timeout = resolve(timeout)
        return startup.measure_startups(self.library.job_library, template, variables, agent, runs, marker, timeout)

    @keyword(tags=[PERFORMANCE, WAIT])
    def measure_concurrent_job_runs(
        self,
        count: int = 20,
        template: str = "java-batch",
        timeout: timedelta | None = None,
        agent: str | None = None,
        **variables: Any,
    ) -> dict[str, Any]:
        """Submits ``count`` batch jobs at once, waits until every one completed successfully, stops them all.

        ``timeout`` defaults to five times the Nomad timeout (see `Set Nomad Timeout`).

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
        timeout = resolve(timeout, 5)
        return startup.measure_concurrent_runs(self.library.job_library, template, variables, agent, count, timeout)

"""Keywords that read and sample a task's resource usage and judge it against limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api.deco import keyword

from nomadtest.library import ASSERTION, PERFORMANCE, QUERY, LibraryComponent
from nomadtest.perf import taskusage

DEFAULT_DURATION = timedelta(seconds=10)
DEFAULT_INTERVAL = timedelta(seconds=1)


class ResourceUsage(LibraryComponent):
    """Read what Nomad reports a task uses, sample it over time, and check it against limits."""

    @keyword(tags=[PERFORMANCE, QUERY])
    def get_task_resource_usage(
        self,
        job_id: str,
        task: str | None = None,
        alloc_id: str | None = None,
        timeout: timedelta = taskusage.FIRST_READING_TIMEOUT,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """Returns the task's latest resource usage reading from Nomad's allocation stats API.

        The reading is a dictionary of memory (bytes) and CPU figures, see `Resource usage`.
        Waits up to ``timeout`` for the task to start and for Nomad's first reading of it; fails at
        once when the task is dead, and says when the agent does not collect statistics at all.
        Just after a task started, the reading may be the driver's first, which has no CPU rate
        yet (0) and the memory of a JVM still starting: sample for a while to see it working.

        Example:
        | ${usage} = | `Get Task Resource Usage` | ${job} | |
        | Should Be True | ${usage}[memory_rss] < 256 * 1024 * 1024 | | |
        | Log | ${usage}[cpu_percent] % of a core, ${usage}[cpu_total_ticks] MHz | | |
        """
        return taskusage.current_reading(job_id, task, alloc_id, timeout, agent)

    @keyword(tags=[PERFORMANCE, QUERY])
    def sample_task_resource_usage(
        self,
        job_id: str,
        duration: timedelta = DEFAULT_DURATION,
        interval: timedelta = DEFAULT_INTERVAL,
        task: str | None = None,
        alloc_id: str | None = None,
        label: str | None = None,
        timeout: timedelta = taskusage.FIRST_READING_TIMEOUT,
        agent: str | None = None,
    ) -> list[dict[str, Any]]:
        """Reads the task's resource usage every ``interval`` for ``duration`` and returns the readings, oldest first.

        Sampling starts with Nomad's first reading of the task (waited for up to ``timeout``) and
        takes the whole ``duration``, unless the task ends first: then the readings until its end
        are returned and the log says so. A reading Nomad has not renewed since the previous
        sample is kept once, so an ``interval`` shorter than the agent's telemetry
        ``collection_interval`` gives fewer readings. Each reading also has ``elapsed``, seconds
        since the first.

        The series is remembered, with the task's limits, for `Plot Metrics`, under ``label``
        (default: the job id).

        Example:
        | ${series} = | `Sample Task Resource Usage` | ${job} | duration=20s | interval=1s |
        | `Task Memory Usage Should Stay Below` | ${job} | 256 MB | series=${series} | |
        """
        window = taskusage.TaskWindow(job_id, task, alloc_id, agent, duration, interval)
        return taskusage.sample(window, label, timeout, self.library.series).samples

    @keyword(tags=[PERFORMANCE, QUERY])
    def sample_resource_usage_of_tasks(
        self,
        *job_ids: str,
        duration: timedelta = DEFAULT_DURATION,
        interval: timedelta = DEFAULT_INTERVAL,
        task: str | None = None,
        labels: list[str] | None = None,
        timeout: timedelta = taskusage.FIRST_READING_TIMEOUT,
        agent: str | None = None,
    ) -> list[list[dict[str, Any]]]:
        """Samples several jobs' tasks over the same seconds; returns one series per job, in the order given.

        Use it to compare tasks with each other, such as the CPU shares of tasks that compete for
        the host: at every ``interval`` each task is read in turn, so load beside them that
        changes during the ``duration`` weighs on all alike. Sampled one after the other with
        `Sample Task Resource Usage`, they would each see other seconds.

        Sampling starts once Nomad has a reading of every task (each waited for up to
        ``timeout``). Each series is as `Sample Task Resource Usage` returns it: readings with
        ``elapsed``, cut short if its task ends. Each job's only task is read, or its ``task``
        (a task of that name in every job), in its latest allocation. ``labels`` name the
        series in `Plot Metrics`, one per job (default: the job ids).

        Example:
        | ${small} | ${large} = | `Sample Resource Usage Of Tasks` | ${job_a} | ${job_b} | duration=8s |
        | ${mhz} = | Evaluate | statistics.fmean([s["cpu_total_ticks"] for s in $small[1:]]) | modules=statistics | | |
        """
        if not job_ids:
            raise ValueError("Name at least one job to sample.")
        names = list(labels) if labels is not None else [None] * len(job_ids)
        if len(names) != len(job_ids):
            raise ValueError(f"Give one label per job: {len(job_ids)} job(s), {len(names)} label(s).")
        windows = [taskusage.TaskWindow(job, task, None, agent, duration, interval) for job in job_ids]
        sampled = taskusage.sample_together(windows, names, timeout, self.library.series)
        return [series.samples for series in sampled]

    @keyword(tags=[PERFORMANCE, ASSERTION])
    def task_memory_usage_should_stay_below(
        self,
        job_id: str,
        limit: str | None = None,
        duration: timedelta = DEFAULT_DURATION,
        interval: timedelta = DEFAULT_INTERVAL,
        measure: str = "usage",
        series: list[dict[str, Any]] | None = None,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> int:
        """Fails when the task's memory reached ``limit`` in a sampled window; returns the peak in bytes.

        The window is ``series`` (from `Sample Task Resource Usage`) or, without it, sampled now
        for ``duration`` every ``interval``. ``limit`` is a size such as ``256 MB`` or ``64 MiB``;
        without it, the task's own memory limit (``memory_max`` when set, else ``memory``).
        ``measure`` is the figure compared: ``usage`` (what the cgroup limit counts: RSS and page
        cache), ``rss``, ``cache``, ``max_usage`` (the cgroup's high-water mark) or ``swap``. The
        failure names the peak, when it was reached and the samples.

        Examples:
        | `Task Memory Usage Should Stay Below` | ${job} | 256 MB | | |
        | `Task Memory Usage Should Stay Below` | ${job} | 100 MiB | measure=rss | duration=30s |
        | `Task Memory Usage Should Stay Below` | ${job} | series=${series} | | |
        """
        window = taskusage.TaskWindow(job_id, task, alloc_id, agent, duration, interval, series)
        return taskusage.memory_should_stay_below(window, limit, measure, self.library.series)

    @keyword("Task CPU Usage Should Stay Below", tags=[PERFORMANCE, ASSERTION])
    def task_cpu_usage_should_stay_below(
        self,
        job_id: str,
        limit: str | None = None,
        duration: timedelta = DEFAULT_DURATION,
        interval: timedelta = DEFAULT_INTERVAL,
        statistic: str = "mean",
        series: list[dict[str, Any]] | None = None,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> float:
        """Fails unless the task's CPU use over a sampled window stays below ``limit``; returns the figure.

        ``limit`` is ``500 MHz`` (Nomad's unit, compared with ``cpu_total_ticks``) or ``150%``
        (of one core, compared with ``cpu_percent``); without it, the task's CPU allocation in
        MHz. ``statistic`` is what is compared: ``mean`` over the window (its CPU time divided by
        its length), ``median``, ``p90`` or ``max`` of the readings. The window is as for `Task
        Memory Usage Should Stay Below`.

        Examples:
        | `Task CPU Usage Should Stay Below` | ${job} | 1000 MHz | | |
        | `Task CPU Usage Should Stay Below` | ${job} | 120% | statistic=max | duration=20s |
        """
        window = taskusage.TaskWindow(job_id, task, alloc_id, agent, duration, interval, series)
        return taskusage.cpu_should_stay_below(window, limit, statistic, self.library.series)

    @keyword("Task Should Be Throttled To Its CPU Limit", tags=[PERFORMANCE, ASSERTION])
    def task_should_be_throttled_to_its_cpu_limit(
        self,
        job_id: str,
        limit: str | None = None,
        tolerance: str = "25%",
        duration: timedelta = DEFAULT_DURATION,
        interval: timedelta = DEFAULT_INTERVAL,
        series: list[dict[str, Any]] | None = None,
        task: str | None = None,
        alloc_id: str | None = None,
        agent: str | None = None,
    ) -> float:
        """Fails unless a task that wants more CPU than its limit is held to it; returns its mean MHz.

        Use it with a task that keeps more cores busy than it is given (the ``cpu-burner`` JAR).
        Over a sampled window (as for `Task Memory Usage Should Stay Below`) its mean CPU use must
        not exceed ``limit`` by more than ``tolerance``; a task that hardly used CPU at all (under
        a tenth of the limit) fails too, since then the check says nothing. ``limit`` is as for
        `Task CPU Usage Should Stay Below`, by default the task's CPU allocation: the job's
        ``cpu``, or the MHz of its reserved ``cores``. The log says how many CFS periods the task
        was throttled in the window.

        A CFS quota throttles the task to its limit; a cpuset of reserved cores holds it there
        without throttling. ``cpu.shares``, which the ``exec`` and ``java`` drivers (and crunjar
        without ``cpu_hard_limit``) give a task for its ``cpu``, holds nothing on an idle host: the
        failure says so.

        Example:
        | ${job} = | Submit Job | java-batch | jar_path=${JARS}/cpu-burner.jar | args=${{ ["2", "30"] }} | cpu=${500} |
        | `Task Should Be Throttled To Its CPU Limit` | ${job} | duration=10s | | | |
        """
        window = taskusage.TaskWindow(job_id, task, alloc_id, agent, duration, interval, series)
        return taskusage.should_be_held_to_cpu_limit(window, limit, tolerance, self.library.series)

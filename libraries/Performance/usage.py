"""Keywords that read and sample a task's resource usage and judge it against limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.api.client import NomadClient
from nomadtest.jobs import lookup, waits
from nomadtest.library import ASSERTION, PERFORMANCE, QUERY, LibraryComponent
from nomadtest.listener import current_owner
from nomadtest.perf import usage
from nomadtest.perf.figures import parse_tolerance, percent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline

DEFAULT_DURATION = timedelta(seconds=10)
DEFAULT_INTERVAL = timedelta(seconds=1)
# How long to wait for the task to start and for Nomad's first reading of it.
FIRST_READING_TIMEOUT = timedelta(seconds=30)
# Below this share of its limit a task did not try to use CPU, and "held to its limit" would say nothing.
IDLE_SHARE = 0.10


class ResourceUsage(LibraryComponent):
    """Read what Nomad reports a task uses, sample it over time, and check it against limits."""

    @keyword(tags=[PERFORMANCE, QUERY])
    def get_task_resource_usage(
        self,
        job_id: str,
        task: str | None = None,
        alloc_id: str | None = None,
        timeout: timedelta = FIRST_READING_TIMEOUT,
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
        client, alloc, task = self._started_task(job_id, task, alloc_id, Deadline(timeout), agent)
        reading = self._first_reading(client, job_id, alloc, task, Deadline(timeout))
        logger.info(f"Resource usage of task '{task}' (allocation {lookup.short(alloc['ID'])}): {_brief(reading)}")
        return reading

    @keyword(tags=[PERFORMANCE, QUERY])
    def sample_task_resource_usage(
        self,
        job_id: str,
        duration: timedelta = DEFAULT_DURATION,
        interval: timedelta = DEFAULT_INTERVAL,
        task: str | None = None,
        alloc_id: str | None = None,
        label: str | None = None,
        timeout: timedelta = FIRST_READING_TIMEOUT,
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
        series = self._sample(job_id, duration, interval, task, alloc_id, label, timeout, agent)
        return series.samples

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
        window = self._window(job_id, series, duration, interval, task, alloc_id, agent, "memory check")
        bound = usage.parse_size(limit) if limit is not None else window.limits.memory
        if not bound:
            raise AssertionError(f"Task '{window.task}' has no memory limit to compare with: give limit=<size>.")
        peak = usage.memory_peak(window.samples, measure)
        value = peak[f"memory_{measure}"]
        where = f"task '{window.task}' (allocation {lookup.short(window.alloc_id)})"
        if value >= bound:
            raise usage.UsageError(
                f"Memory {measure} of {where} reached {usage.mib(value)} after {peak['elapsed']:.1f} s, "
                f"not below {usage.mib(bound)}.\n{usage.describe_samples(window.samples)}"
            )
        logger.info(
            f"Memory {measure} of {where} peaked at {usage.mib(value)}, below {usage.mib(bound)} "
            f"({len(window.samples)} samples over {window.samples[-1]['elapsed']:.1f} s)."
        )
        return value

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
        window = self._window(job_id, series, duration, interval, task, alloc_id, agent, "CPU check")
        bound = usage.parse_cpu(limit) if limit is not None else usage.CpuLimit(window.limits.cpu_mhz, "MHz")
        value = usage.cpu_figure(window.samples, bound.key, statistic)
        shown = usage.CpuLimit(value, bound.unit)
        where = f"task '{window.task}' (allocation {lookup.short(window.alloc_id)})"
        if value >= bound.value:
            raise usage.UsageError(
                f"CPU use of {where} ({statistic} over {window.samples[-1]['elapsed']:.1f} s) was {shown}, "
                f"not below {bound}.\n{usage.describe_samples(window.samples)}"
            )
        logger.info(f"CPU use of {where} ({statistic}) was {shown}, below {bound}.")
        return value

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
        window = self._window(job_id, series, duration, interval, task, alloc_id, agent, "CPU limit check")
        bound = usage.parse_cpu(limit) if limit is not None else usage.CpuLimit(window.limits.cpu_mhz, "MHz")
        if not bound.value:
            raise AssertionError(f"Task '{window.task}' has no CPU limit to compare with: give limit=<MHz>.")
        allowed = parse_tolerance(tolerance)
        mean = usage.cpu_figure(window.samples, bound.key, "mean")
        periods, seconds = usage.throttled_during(window.samples)
        where = f"task '{window.task}' (allocation {lookup.short(window.alloc_id)})"
        used = f"{usage.CpuLimit(mean, bound.unit)} on average over {window.samples[-1]['elapsed']:.1f} s"
        throttled = f"throttled in {periods} CFS period(s), {seconds:.2f} s" if periods else "never throttled"
        if mean > bound.value * (1 + allowed):
            hint = (
                "\nNo CFS quota held it: for this driver the task's cpu is a weight (cpu.shares), which "
                "binds only under contention."
                if not periods
                else ""
            )
            raise usage.UsageError(
                f"CPU use of {where} was {used}, above its limit of {bound} + {percent(allowed)}; {throttled}.{hint}\n"
                + usage.describe_samples(window.samples)
            )
        if mean < bound.value * IDLE_SHARE:
            raise usage.UsageError(
                f"CPU use of {where} was {used}, under a tenth of its limit of {bound}: it did not try to use "
                f"more than its limit, so this proves nothing. Give it work that keeps more cores busy.\n"
                + usage.describe_samples(window.samples)
            )
        logger.info(f"CPU use of {where} was {used}, held to its limit of {bound} (+{percent(allowed)}); {throttled}.")
        return mean

    # -- shared ----------------------------------------------------------------------------------------

    def _window(
        self,
        job_id: str,
        given: list[dict[str, Any]] | None,
        duration: timedelta,
        interval: timedelta,
        task: str | None,
        alloc_id: str | None,
        agent: str | None,
        purpose: str,
    ) -> usage.Series:
        if given is None:
            return self._sample(job_id, duration, interval, task, alloc_id, purpose, FIRST_READING_TIMEOUT, agent)
        if not given:
            raise AssertionError("The series given has no samples.")
        client = REGISTRY.client(agent)
        alloc = lookup.select_allocation(client, job_id, alloc_id)
        name = lookup.resolve_task(alloc, task)
        limits = usage.task_limits(alloc, name)
        return usage.Series(job_id, job_id, alloc["ID"], name, limits, samples=list(given))

    def _sample(
        self,
        job_id: str,
        duration: timedelta,
        interval: timedelta,
        task: str | None,
        alloc_id: str | None,
        label: str | None,
        timeout: timedelta,
        agent: str | None,
    ) -> usage.Series:
        length = Deadline(duration).seconds
        step = Deadline(interval).seconds
        client, alloc, name = self._started_task(job_id, task, alloc_id, Deadline(timeout), agent)
        first = self._first_reading(client, job_id, alloc, name, Deadline(timeout))
        series = usage.Series(
            label=label or job_id,
            job_id=job_id,
            alloc_id=alloc["ID"],
            task=name,
            limits=usage.task_limits(alloc, name),
            owner=current_owner(),
        )
        series.add(first)
        usage.sample_series(series, client, length, step, lambda: _task_state(client, alloc["ID"], name))
        self.library.series.append(series)
        ended = f"; sampling ended early: {series.ended_early}" if series.ended_early else ""
        logger.info(
            f"Sampled task '{name}' (allocation {lookup.short(alloc['ID'])}) {len(series.samples)} time(s) "
            f"over {series.samples[-1]['elapsed']:.1f} s{ended}. Limits: memory {usage.mib(series.limits.memory)}, "
            f"CPU {series.limits.cpu_mhz:.0f} MHz.\n{usage.describe_samples(series.samples)}"
        )
        return series

    @staticmethod
    def _started_task(
        job_id: str, task: str | None, alloc_id: str | None, deadline: Deadline, agent: str | None
    ) -> tuple[NomadClient, dict, str]:
        client = REGISTRY.client(agent)
        alloc, name = waits.wait_for_task_started(client, job_id, deadline, task, alloc_id)
        return client, alloc, name

    @staticmethod
    def _first_reading(client: NomadClient, job_id: str, alloc: dict, task: str, deadline: Deadline) -> dict:
        return usage.wait_for_first_reading(
            client,
            alloc["ID"],
            task,
            deadline,
            task_state=lambda: _task_state(client, alloc["ID"], task),
            telemetry=lambda: usage.publishes_allocation_metrics(client),
        )


def _task_state(client: NomadClient, alloc_id: str, task: str) -> dict | None:
    return lookup.task_state(lookup.get_allocation(client, alloc_id), task)


def _brief(reading: dict[str, Any]) -> str:
    return (
        f"memory usage {usage.mib(reading['memory_usage'])}, RSS {usage.mib(reading['memory_rss'])}, "
        f"cache {usage.mib(reading['memory_cache'])}, max {usage.mib(reading['memory_max_usage'])}; CPU "
        f"{reading['cpu_percent']:.1f}% of a core ({reading['cpu_total_ticks']:.0f} MHz), throttled "
        f"{reading['cpu_throttled_periods']} period(s)"
    )

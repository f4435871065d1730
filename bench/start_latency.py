"""Start latency of a JAR: launch → JVM ``main`` entered, four ways side by side in one run.

1. ``java -jar`` run directly: from just before the process is spawned.
2. Through Nomad with the ``raw_exec`` driver (``java -jar`` as a plain process).
3. Through Nomad's built-in ``java`` driver (the JVM under Nomad's executor in a chroot).
4. Through Nomad with the ``crunjar`` driver (the JVM in a crun container).

For 2-4 the clock starts at the task's ``Task Setup`` event, the last step Nomad takes before
preparing the task for its driver, so all three include the same Nomad work and differ by what
happens after it: the java driver builds its chroot there, and gets the JAR as an artifact from a
loopback HTTP server (its chroot sees only the task dir), which is what a java job pays. The time
from the job's submission is shown too. The JAR (``start-probe``) prints the wall-clock time at
which ``main`` was entered. All four use the same JDK, on one agent, with the runs of each way
interleaved so that drift on the host spreads over all four alike; after each Nomad run its
allocation is garbage-collected and its dir awaited gone, so no run pays for an earlier one.

Each way's samples go to the metrics file as ``start_latency_<way>`` (seconds), with the ratios of
their medians (``start_latency_ratio_<a>_to_<b>``), in a run record of their own; a bar chart of the
medians goes beside it (``plots/start-latency.png``). The run holds the measurement lock of the
performance suites, so it never measures at the same time as they do.

    .venv/bin/python bench/start_latency.py --runs 20 --metrics results/bench/metrics.json
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from NomadJob import NomadJob
from NomadServer import NomadServer

from nomadtest.agents import crashes, nodes, starting
from nomadtest.jobs import logs, lookup, waits
from nomadtest.jobs.delivery import JarDelivery
from nomadtest.perf import figures, measurelock, runfacts, startup, store
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, Done, Pending, poll

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "jars" / "build" / "start-probe.jar"
JAVA_MAJOR = 17
JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")
# How long the removal of one finished allocation may take.
COLLECT_TIMEOUT = 120
# Start Nomad Server's and Stop All Nomad Servers' defaults.
AGENT_START_TIMEOUT = 60
AGENT_STOP_GRACE = 10
AGENT_STOP_TIMEOUT = 30
# How long one run's job may take to complete.
RUN_TIMEOUT = 120
RAW_EXEC_HCL = 'plugin "raw_exec" {\n  config {\n    enabled = true\n  }\n}\n'
# name in the metrics, label in the table
WAYS = {
    "direct": "java -jar (direct)",
    "raw_exec": "nomad raw_exec",
    "java_driver": "nomad java (built-in)",
    "crunjar": "nomad crunjar",
}
RATIOS = [("crunjar", "direct"), ("crunjar", "raw_exec"), ("java_driver", "crunjar"), ("raw_exec", "direct")]


def entered_at(stdout: str) -> float:
    found = startup.marker_time(stdout)
    if found is None:
        raise RuntimeError(f"start-probe printed no {startup.START_PROBE_MARKER} line: {stdout!r}")
    return found


def direct_run() -> tuple[float, float]:
    started = time.time()
    result = subprocess.run([str(JAVA_HOME / "bin" / "java"), "-jar", str(PROBE)], capture_output=True, text=True)
    latency = entered_at(result.stdout) - started
    return latency, latency


class NomadRuns:
    """One agent with raw_exec enabled beside crunjar and Nomad's java driver."""

    def __init__(self) -> None:
        self.server = NomadServer(driver="crunjar")
        self.jobs = NomadJob()
        self.delivery = JarDelivery()

    def start(self) -> None:
        request = starting.StartRequest(extra_hcl=RAW_EXEC_HCL)
        agent = starting.start_agent(self.server.manager, request, Deadline(AGENT_START_TIMEOUT))
        node = nodes.get_node(agent.client, agent.node)
        for driver in ("raw_exec", "java"):
            info = nodes.driver_info(node, driver) or {}
            if not (info.get("Detected") and info.get("Healthy")):
                raise RuntimeError(f"Nomad agent '{agent.name}': {nodes.describe_driver(node, driver)}")

    def stop(self) -> None:
        try:
            grace, timeout = Deadline(AGENT_STOP_GRACE), Deadline(AGENT_STOP_TIMEOUT)
            starting.stop_agents(self.server.manager, REGISTRY.agents(), grace, timeout)
        finally:
            self.delivery.close()

    def collect(self, alloc_id: str) -> None:
        """Garbage-collect the allocation and wait until its dir is gone, so every run starts alike.

        The java driver's chroot hard-links the host's /usr, /lib, /etc... into the task dir; left to
        Nomad's own garbage collection, the removal of earlier chroots overlaps later starts and makes
        each slower than the one before.
        """
        problems = crashes.collect_garbage(REGISTRY.agents())
        if problems:
            raise RuntimeError("; ".join(problems))
        alloc_dir = REGISTRY.find().data_dir / "alloc" / alloc_id
        outcome = poll(
            lambda: Pending(f"{alloc_dir} still exists") if alloc_dir.exists() else Done(),
            Deadline(COLLECT_TIMEOUT),
            interval=0.05,
            longest_interval=0.5,
        )
        if isinstance(outcome, Pending):
            raise RuntimeError(f"Allocation {alloc_id} was not removed within {COLLECT_TIMEOUT} s: {outcome.status}")

    def run(self, way: str) -> tuple[float, float]:
        """Seconds from Task Setup, and from submission, to main."""
        if way == "crunjar":
            variables = {"jar_path": str(PROBE), "config": {"java_version": JAVA_MAJOR}, "driver": "crunjar"}
            job = self.job("java-batch", variables)
        elif way == "java_driver":
            job = self.job("java-batch", self.delivery.deliver({"jar_path": str(PROBE), "driver": "java"}))
        else:
            variables = {"command": str(JAVA_HOME / "bin" / "java"), "args": ["-jar", str(PROBE)], "memory": 256}
            job = self.job("raw-exec", variables)
        job_id = job.submit()
        client = REGISTRY.for_job(job_id).client
        waits.wait_for_job_success(client, job_id, Deadline(RUN_TIMEOUT))
        alloc = lookup.select_allocation(client, job_id)
        task = lookup.resolve_task(alloc, None)
        setup = startup.event_time(lookup.task_state(alloc, task), "Task Setup")
        submitted = startup.submit_time(lookup.get_job(client, job_id))
        main = entered_at(logs.read_log(client, alloc["ID"], task, "stdout"))
        job.stop(job_id)
        self.collect(alloc["ID"])
        if setup is None:
            raise RuntimeError(f"Job {job_id} has no Task Setup event.")
        return main - setup, main - submitted

    def job(self, template: str, variables: dict) -> startup.TimedJob:
        """A job submitted and tracked through the NomadJob library's JAR delivery and tracker."""
        return startup.TimedJob(self.jobs.delivery, self.jobs.tracker, template, variables)


def interleaved(
    runs: int, warmup: int, measure: dict[str, Callable[[], tuple[float, float]]], sparse: dict[str, int]
) -> dict:
    """``runs`` samples of each way, taking one of each in turn; ``warmup`` rounds are not kept.

    A way in ``sparse`` is sampled in only that many of the rounds, spread evenly over them.
    """
    samples: dict[str, list[tuple[float, float]]] = {way: [] for way in measure}
    for round_number in range(warmup + runs):
        for way, run in measure.items():
            if way in sparse and not _sampled(round_number - warmup, runs, sparse[way]):
                continue
            sample = run()
            if round_number >= warmup:
                samples[way].append(sample)
        done = round_number + 1 - warmup
        if done > 0:
            print(f"  round {done}/{runs} done", file=sys.stderr, flush=True)
    return samples


def _sampled(round_number: int, runs: int, wanted: int) -> bool:
    """Whether round ``round_number`` (negative: a warm-up round) is one of ``wanted`` spread over ``runs``."""
    if round_number < 0:
        return True
    step = runs / max(min(wanted, runs), 1)
    return math.floor(round_number / step) != math.floor((round_number - 1) / step)


def table(samples: dict[str, list[tuple[float, float]]], runs: int) -> str:
    medians = {way: statistics.median(s[0] for s in values) for way, values in samples.items()}
    lines = [
        f"Start latency of start-probe.jar to main, {runs} runs each, interleaved, one agent "
        "(from Task Setup; java -jar from spawn)",
        f"{'way':<24}{'median':>10}{'p90':>10}{'min':>10}{'max':>10}{'from submit':>13}{'x direct':>10}"
        f"{'x crunjar':>11}",
    ]
    for way, values in samples.items():
        ms = [value[0] * 1000 for value in values]
        submit = statistics.median(value[1] for value in values) * 1000
        lines.append(
            f"{WAYS[way]:<24}{statistics.median(ms):>8.1f}ms{figures.percentile(ms, 0.9):>8.1f}ms"
            f"{min(ms):>8.1f}ms{max(ms):>8.1f}ms{submit:>11.1f}ms"
            f"{medians[way] / medians['direct']:>9.2f}x{medians[way] / medians['crunjar']:>10.2f}x"
        )
    lines.append("")
    for top, bottom in RATIOS:
        lines.append(f"{WAYS[top]} / {WAYS[bottom]}: {medians[top] / medians[bottom]:.2f}x")
    return "\n".join(lines)


def record(path: Path, samples: dict[str, list[tuple[float, float]]]) -> None:
    recorder = store.Recorder(
        lambda: path, lambda: {**runfacts.run_record(ROOT, under_pabot=False), "driver": "bench: " + ", ".join(WAYS)}
    )
    for way, values in samples.items():
        recorder.record(f"start_latency_{way}", [value[0] for value in values], "s", owner="bench/start_latency.py")
    medians = {way: recorder.metrics[f"start_latency_{way}"].median for way in samples}
    for top, bottom in RATIOS:
        recorder.record(f"start_latency_ratio_{top}_to_{bottom}", medians[top] / medians[bottom], "x")
    try:
        from nomadtest.perf import plots

        chart = plots.plot_bars(
            {WAYS[way]: median * 1000 for way, median in medians.items()},
            path.parent / "plots" / "start-latency.png",
            "Start latency to main (median)",
            "ms",
        )
        print(f"Chart: {chart}")
    except ImportError:
        print("matplotlib is not installed: no chart.", file=sys.stderr)
    print(f"Metrics: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and not counted (default 1)")
    parser.add_argument(
        "--java-driver-runs",
        type=int,
        default=5,
        help="samples of Nomad's java driver (default 5): its 5-15 s disk-bound start is shown, not gated",
    )
    parser.add_argument("--metrics", type=Path, default=ROOT / "results" / store.METRICS_FILE_NAME)
    parser.add_argument("--lock-timeout", type=float, default=1200, help="seconds to wait for the measurement lock")
    args = parser.parse_args()
    if not PROBE.is_file():
        parser.error(f"{PROBE} is missing: run `make jars` first")
    if args.runs < 1:
        parser.error("--runs must be 1 or more")

    lock = measurelock.MeasurementLocks()
    lock.acquire(Deadline(args.lock_timeout), "bench/start_latency.py")
    nomad = NomadRuns()
    try:
        nomad.start()
        ways = {
            "direct": direct_run,
            "raw_exec": lambda: nomad.run("raw_exec"),
            "java_driver": lambda: nomad.run("java_driver"),
            "crunjar": lambda: nomad.run("crunjar"),
        }
        samples = interleaved(args.runs, args.warmup, ways, {"java_driver": args.java_driver_runs})
    finally:
        nomad.stop()
        lock.release()
    print(table(samples, args.runs))
    record(args.metrics, samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())

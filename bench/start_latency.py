"""Start latency of a JAR: launch → JVM ``main`` entered, median of N runs, three ways.

1. ``java -jar`` run directly: from just before the process is spawned.
2. Through Nomad with the ``raw_exec`` driver (``java -jar`` as a plain process).
3. Through Nomad with the ``crunjar`` driver (the JVM in a crun container).

For 2 and 3 the clock starts at the task's ``Task Setup`` event, the last step
Nomad takes before handing the task to the driver, so both include the same
Nomad work and differ by what the driver does. The JAR (``start-probe``) prints
the wall-clock time at which ``main`` was entered. All three use the same JDK.

    .venv/bin/python bench/start_latency.py --runs 20
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from NomadJob import NomadJob
from NomadServer import NomadServer

from nomadtest import jobs
from nomadtest.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "jars" / "build" / "start-probe.jar"
MARKER = "main-entered-epoch-us="
JAVA_MAJOR = 17
JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")


def entered_at(stdout: str) -> float:
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            return int(line[len(MARKER) :]) / 1e6
    raise RuntimeError(f"start-probe printed no {MARKER} line: {stdout!r}")


def direct_run() -> float:
    started = time.time()
    result = subprocess.run([str(JAVA_HOME / "bin" / "java"), "-jar", str(PROBE)], capture_output=True, text=True)
    return entered_at(result.stdout) - started


def nomad_run(job_lib: NomadJob, driver: str) -> float:
    if driver == "crunjar":
        variables = {"jar_path": str(PROBE), "config": {"java_version": JAVA_MAJOR}}
        job_id = job_lib.run_keyword("submit_job", ["java-batch"], variables)
    else:
        variables = {"command": str(JAVA_HOME / "bin" / "java"), "args": ["-jar", str(PROBE)], "memory": 256}
        job_id = job_lib.run_keyword("submit_job", ["raw-exec"], variables)
    job_lib.run_keyword("wait_for_job_to_complete_successfully", [job_id], {})
    client = REGISTRY.client()
    alloc = jobs.select_allocation(client, job_id)
    task = jobs.resolve_task(alloc, None)
    setup = next(e["Time"] for e in jobs.task_state(alloc, task)["Events"] if e["Type"] == "Task Setup") / 1e9
    stdout = client.get(f"/v1/client/fs/logs/{alloc['ID']}", task=task, type="stdout", plain="true", origin="start")
    job_lib.run_keyword("stop_job", [job_id], {})
    return entered_at(stdout) - setup


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"{name:<22} median {statistics.median(ms):7.1f} ms   min {ms[0]:7.1f}   max {ms[-1]:7.1f}   n={len(ms)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not PROBE.is_file():
        parser.error(f"{PROBE} is missing: run `make jars` first")

    results = {"java -jar (direct)": [direct_run() for _ in range(args.runs)]}
    server = NomadServer()
    job_lib = NomadJob()
    server.run_keyword(
        "start_nomad_server", [], {"extra_hcl": 'plugin "raw_exec" {\n  config {\n    enabled = true\n  }\n}\n'}
    )
    try:
        for driver in ("raw_exec", "crunjar"):
            results[f"nomad {driver}"] = [nomad_run(job_lib, driver) for _ in range(args.runs)]
    finally:
        server.run_keyword("stop_all_nomad_servers", [], {})

    for name, samples in results.items():
        print(summary(name, samples))
    direct = statistics.median(results["java -jar (direct)"])
    raw_exec = statistics.median(results["nomad raw_exec"])
    crunjar = statistics.median(results["nomad crunjar"])
    print(f"crunjar / direct java -jar: {crunjar / direct:.2f}x")
    print(f"crunjar / raw_exec:         {crunjar / raw_exec:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

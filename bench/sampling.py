"""Variables of `make bench`: the performance suites (suites/performance/) with long sampling.

The suites' own values are enough for what each test checks (a limit enforced, nothing broken)
and keep the end-to-end run short; the bench takes more samples, for medians stable enough to
gate on (see bench/README.md).

    .venv/bin/robot --variablefile bench/sampling.py --outputdir results/bench suites/performance
"""

STARTUP_RUNS = 10
# The framework's overhead is gated as a ratio of two small times: more samples for a stable median.
OVERHEAD_RUNS = 20
CONCURRENT_JOBS = 20
BATCHES = 5
JOBS_PER_BATCH = 10
CPU_WINDOW = "10s"
SHARE_WINDOW = "20s"
MEMORY_WINDOW = "15s"

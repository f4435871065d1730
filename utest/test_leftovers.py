"""What a run left on the host, as scripts/check-leftovers.py lists it: processes under the run root by
any place they hold, and, host-wide, processes of any allocation, each listed once."""

from __future__ import annotations

import os

from nomadtest.host import leftovers
from nomadtest.host.proctable import ProcessInfo

ALLOC = "3f2a1b2c-0d4e-5f60-7a8b-9c0d1e2f3a4b"


def test_processes_under_a_run_root_by_command_line_working_dir_root_dir_or_open_file(tmp_path):
    root = tmp_path / "e2e"
    table = [
        ProcessInfo(10, 1, "nomad", ("nomad", "agent", "-config", f"{root}/w/a/agent.hcl"), "/", ""),
        ProcessInfo(11, 1, "sleep", ("sleep",), f"{root}/w/a/data/alloc/x/app (deleted)", ""),
        ProcessInfo(12, 1, "java", ("java",), "/", "", root=f"{root}/w/a/data/alloc/x/app"),
        ProcessInfo(13, 1, "sh", ("sh",), "/", "", files=(f"{root}/w/a/data/alloc/x/alloc/logs/.app.stdout.fifo",)),
        ProcessInfo(14, 1, "sh", ("sh",), f"{tmp_path}/e2e-other", ""),
        ProcessInfo(os.getpid(), 1, "python", ("python",), str(root), ""),  # the one looking
    ]
    assert [info.pid for info in leftovers.processes_under(root, table)] == [10, 11, 12, 13]


def test_host_wide_processes_are_container_jvms_and_processes_of_allocations_each_once():
    table = [
        ProcessInfo(20, 1, "java", ("java", "-jar", "/x.jar"), "/", "4:memory:/crunjar-1-abc/c\n", alloc_env=ALLOC),
        ProcessInfo(21, 1, "sleep", ("sleep", "300"), "/", "", alloc_env=ALLOC),
        ProcessInfo(22, 1, "sleep", ("sleep", "300"), "/", "", alloc_env=ALLOC),  # listed already, by its place
        ProcessInfo(23, 1, "bash", ("bash",), "/", "0::/user.slice\n"),
    ]
    assert leftovers._host_wide_processes(table, ["crunjar-"], listed={22}) == [
        "container JVM 20: java -jar /x.jar",
        "task process 21 (sleep) of allocation 3f2a1b2c: sleep 300",
    ]


def test_a_process_holding_an_allocation_id_is_left_behind_wherever_it_runs(tmp_path, spawn):
    stray = spawn(["sleep", "1000"], cwd=tmp_path, env={**os.environ, "NOMAD_ALLOC_ID": ALLOC})
    found = leftovers.find(tmp_path / "no-run-root", host_wide=True)
    assert f"task process {stray.pid} (sleep) of allocation 3f2a1b2c: sleep 1000" in found
    assert not any(str(stray.pid) in item for item in leftovers.find(tmp_path / "no-run-root"))

"""Task processes without a driver's help: the process table read from a fake /proc, the allocation a
process carries, the allocations an agent ran, and which processes its tasks left."""

from __future__ import annotations

import os
from pathlib import Path

from nomadtest.host import processes, proctable, taskprocs
from nomadtest.host.proctable import ProcessInfo

ALLOC = "3f2a1b2c-0d4e-5f60-7a8b-9c0d1e2f3a4b"
OTHER_ALLOC = "99999999-0d4e-5f60-7a8b-9c0d1e2f3a4b"


def fake_process(
    proc: Path,
    pid: int,
    ppid: int,
    cmdline: list[str],
    cwd: str = "/",
    root: str = "/",
    files: tuple[str, ...] = (),
    environ: dict[str, str] | None = None,
    cgroups: str = "0::/\n",
) -> None:
    """A /proc/<pid> entry as the kernel shows it: stat, cmdline, environ, cgroup and the links."""
    entry = proc / str(pid)
    (entry / "fd").mkdir(parents=True)
    name = Path(cmdline[0]).name[:15]
    (entry / "stat").write_text(f"{pid} ({name}) S {ppid} {pid} {pid} 0 -1 4194560 0 0\n")
    (entry / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in cmdline))
    (entry / "environ").write_bytes(b"".join(f"{k}={v}\0".encode() for k, v in (environ or {}).items()))
    (entry / "cgroup").write_text(cgroups)
    os.symlink(cwd, entry / "cwd")
    os.symlink(root, entry / "root")
    for number, target in enumerate(("pipe:[1234]", *files)):
        os.symlink(target, entry / "fd" / str(number))


def test_the_table_reads_parent_name_links_open_files_and_the_alloc_id_of_the_environment(tmp_path):
    proc = tmp_path / "proc"
    log_fifo = f"/run/e2e/client-1/data/alloc/{ALLOC}/alloc/logs/.app.stdout.fifo (deleted)"
    fake_process(
        proc,
        4242,
        1,
        ["sleep", "300"],
        cwd=f"/run/e2e/client-1/data/alloc/{ALLOC}/app (deleted)",
        files=(log_fifo,),
        environ={"PATH": "/bin", "NOMAD_ALLOC_ID": ALLOC, "NOMAD_TASK_NAME": "app"},
    )
    (proc / "self").mkdir()  # not a process
    (proc / "4243").mkdir()  # gone between listing and reading

    [info] = proctable.read_table(str(proc))

    assert (info.pid, info.ppid, info.name, info.cmdline) == (4242, 1, "sleep", ("sleep", "300"))
    assert info.files == (log_fifo,)  # the pipe is no place
    assert info.alloc_env == ALLOC
    assert info.allocation() == ALLOC
    assert info.command == "sleep 300"


def test_a_name_with_parentheses_and_a_rewritten_title_are_read_as_written(tmp_path):
    proc = tmp_path / "proc"
    fake_process(proc, 7, 1, ["x"])
    (proc / "7" / "stat").write_text("7 (a) b (c) S 3 7 7 0 -1 0\n")
    (proc / "7" / "cmdline").write_bytes(b"worker: idle")
    info = proctable.read_process(str(proc / "7"))
    assert (info.name, info.ppid, info.cmdline) == ("a) b (c", 3, ("worker: idle",))


def test_the_allocation_of_a_process_comes_from_its_environment_cgroup_dirs_or_command_line():
    def process(**fields) -> ProcessInfo:
        return ProcessInfo(**{"pid": 1, "ppid": 0, "name": "x", "cmdline": (), "cwd": "/", "cgroups": "", **fields})

    assert process(alloc_env=ALLOC, cwd=f"/d/alloc/{OTHER_ALLOC}/app").allocation() == ALLOC
    assert process(cgroups=f"0::/nomad.slice/{ALLOC}.app.scope\n").allocation() == ALLOC
    assert process(root=f"/d/data/alloc/{ALLOC}/app").allocation() == ALLOC
    assert process(cmdline=("executor", f'{{"alloc":"{ALLOC}"}}')).allocation() == ALLOC
    # A UUID in a path is an allocation only right below an alloc dir.
    assert process(cwd=f"/var/lib/{ALLOC}").allocation() == ""
    # Open files come and go: a process's name in a snapshot must not change with them.
    assert process(files=(f"/d/alloc/{ALLOC}/alloc/logs/x",)).allocation() == ""


def test_an_agents_allocations_are_its_alloc_dirs_and_the_ids_its_log_names(tmp_path):
    run_dir = tmp_path / "client-1"
    (run_dir / "data" / "alloc" / ALLOC).mkdir(parents=True)
    (run_dir / "data" / "alloc" / "not-an-alloc").mkdir()
    log = run_dir / "agent.log"
    log.write_text(f"[INFO]  client.alloc_runner.task_runner: Task event: alloc_id={OTHER_ALLOC} task=app\n")
    assert taskprocs.agent_allocations(run_dir, log) == {ALLOC, OTHER_ALLOC}
    assert taskprocs.agent_allocations(tmp_path / "gone", None) == frozenset()


def test_a_growing_log_is_read_from_where_the_last_look_ended(tmp_path):
    log = tmp_path / "agent.log"
    third = "aaaaaaaa-0d4e-5f60-7a8b-9c0d1e2f3a4b"
    log.write_text(f"alloc_id={ALLOC} task=app\nalloc_id={OTHER_ALLOC}")  # the last line is half written
    assert taskprocs.logged_allocations(log) == {ALLOC}
    with log.open("a") as file:
        file.write(f" task=app\nalloc_id={third}\n")
    assert taskprocs.logged_allocations(log) == {ALLOC, OTHER_ALLOC, third}
    # A new log in its place (an agent started again from scratch) is read from its start.
    log.unlink()
    log.write_text(f"alloc_id={third}\n")
    assert taskprocs.logged_allocations(log) == {third}


def test_task_processes_are_found_by_place_allocation_cgroup_and_parentage(tmp_path):
    run_dir = tmp_path / "client-1"
    ties = taskprocs.TaskTies((run_dir,), frozenset({ALLOC}), "crunjar-1-abc")
    table = [
        ProcessInfo(100, 1, "nomad", ("nomad", "agent"), str(run_dir), ""),
        ProcessInfo(101, 100, "nomad", ("nomad", "executor"), "/", ""),  # the agent's child
        ProcessInfo(200, 1, "sleep", ("sleep", "300"), "/", "", files=(f"{run_dir}/data/alloc/x/alloc/logs/f",)),
        ProcessInfo(201, 1, "java", ("java",), "/", "", root=f"{run_dir}/data/alloc/x/app"),
        ProcessInfo(202, 1, "java", ("java",), "/", "", alloc_env=ALLOC),
        ProcessInfo(203, 1, "java", ("java",), "/", f"0::/nomad.slice/{ALLOC}.app.scope\n"),
        ProcessInfo(204, 1, "java", ("java",), "/", "4:memory:/crunjar-1-abc/c\n"),
        ProcessInfo(205, 202, "sh", ("sh",), "/", ""),  # a child of a task process
        ProcessInfo(300, 1, "java", ("java",), "/", "", alloc_env=OTHER_ALLOC),  # another agent's task
        ProcessInfo(301, 1, "sleep", ("sleep",), str(tmp_path / "client-10"), ""),  # another agent's dir
    ]
    found = taskprocs.task_processes(ties, table, agent_pid=100)
    assert sorted(info.pid for info in found) == [101, 200, 201, 202, 203, 204, 205]


def test_processes_of_any_allocation_for_the_end_of_the_run(tmp_path):
    table = [
        ProcessInfo(10, 1, "java", ("java", "-jar", "local/app.jar"), "/", "", alloc_env=ALLOC),
        ProcessInfo(11, 1, "sleep", ("sleep", "300"), "/", f"4:memory:/nomad/{OTHER_ALLOC}.app\n"),
        ProcessInfo(12, 1, "sleep", ("sleep", "300"), "/", f"4:memory:/other/{OTHER_ALLOC}\n"),
        ProcessInfo(13, 1, "bash", ("bash",), "/", "0::/user.slice\n"),
    ]
    found = taskprocs.allocation_processes(table)
    assert [taskprocs.describe_allocation_process(info) for info in found] == [
        "task process 10 (java) of allocation 3f2a1b2c: java -jar local/app.jar",
        "task process 11 (sleep) of allocation 99999999: sleep 300",
    ]


def test_cgroups_named_after_allocations_are_found_topmost_and_near_the_top_only(tmp_path):
    hierarchy = tmp_path / "memory"
    wanted = hierarchy / "nomad" / f"{ALLOC}.app"
    (wanted / f"{OTHER_ALLOC}.inner").mkdir(parents=True)
    (hierarchy / "a" / "b" / "c" / "d" / f"{OTHER_ALLOC}.deep").mkdir(parents=True)
    (hierarchy / "system.slice" / "cron.service").mkdir(parents=True)
    found = processes.cgroups_matching(taskprocs.ALLOCATION_CGROUP.match, [hierarchy])
    assert found == [wanted]

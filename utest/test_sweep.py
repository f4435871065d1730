"""Cleanup after agents: mountinfo parsing, process matching, and the sweep of dead owners' leftovers."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import psutil
import pytest
from conftest import needs_root

from nomadtest.host import processes, sweep
from nomadtest.waiting import Deadline, Done, Pending, poll

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
81 27 0:45 / /tmp/e2e/1/nomad-1/data/alloc/a1/t/secrets rw,nosuid - tmpfs tmpfs rw,size=1024k
82 27 8:1 /srv /tmp/e2e/1/nomad-1/data/alloc/a1/t/local rw shared:5 - ext4 /dev/sda1 rw
83 81 0:46 / /tmp/e2e/1/nomad-1/data/alloc/a1/t/secrets rw - tmpfs tmpfs rw
84 27 0:47 / /tmp/e2e/1/nomad-10/data rw - tmpfs tmpfs rw
85 27 0:48 / /tmp/e2e/1/nomad-1/with\\040space rw - tmpfs tmpfs rw
30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
"""


def test_mountinfo_fields_optional_tags_and_escapes():
    mounts = processes.parse_mountinfo(MOUNTINFO)
    assert [mount.mount_id for mount in mounts] == [22, 81, 82, 83, 84, 85, 30, 31]
    assert mounts[2].fs_type == "ext4"
    assert mounts[5].mount_point == "/tmp/e2e/1/nomad-1/with space"


def test_mounts_under_a_run_dir_deepest_and_latest_first_without_siblings():
    below = processes.mounts_under(Path("/tmp/e2e/1/nomad-1"), processes.parse_mountinfo(MOUNTINFO))
    assert [mount.mount_id for mount in below] == [83, 82, 81, 85]


def test_mounts_under_a_path_through_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    mountinfo = f"90 27 0:41 / {tmp_path}/real/run/secrets rw - tmpfs tmpfs rw\n"
    below = processes.mounts_under(tmp_path / "link" / "run", processes.parse_mountinfo(mountinfo))
    assert [mount.mount_id for mount in below] == [90]


def test_cgroup_hierarchies_v1_and_unified():
    hierarchies = processes.cgroup_hierarchies(processes.parse_mountinfo(MOUNTINFO))
    assert hierarchies == [Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/unified")]


def test_path_pattern_matches_the_dir_and_below_only():
    pattern = processes.path_pattern(Path("/tmp/e2e/1/nomad-1"))
    assert pattern.search('nomad executor {"LogFile":"/tmp/e2e/1/nomad-1/data/alloc/x/executor.out"}')
    assert pattern.search("sh /tmp/e2e/1/nomad-1")
    assert not pattern.search("sh /tmp/e2e/1/nomad-10/data")
    assert not pattern.search("sh /tmp/e2e/1/nomad-1.old")


def dead_pid() -> tuple[int, float]:
    process = psutil.Popen(["true"])
    created = process.create_time()
    process.wait()
    return process.pid, created


def write_state(run_root: Path, owner: tuple[int, float], *records: sweep.AgentRecord) -> Path:
    path = run_root / "state" / f"{owner[0]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"pid": owner[0], "create_time": owner[1], "agents": [record.__dict__ for record in records]}
    path.write_text(json.dumps(content))
    return path


def test_sweep_cleans_up_after_a_dead_owner(tmp_path, spawn):
    run_root = tmp_path / "runs"
    run_dir = run_root / "4242" / "nomad-1"
    (run_dir / "data" / "alloc" / "a1").mkdir(parents=True)
    (run_dir / "agent.log").write_text("log")
    # An "agent" whose pid the state file records, a detached "executor" naming the run dir,
    # its child that does not, and a "task" that only has its working directory there.
    agent = spawn(["sleep", "1000"], start_new_session=True)
    executor = spawn(["sh", "-c", "sleep 1000 & wait", str(run_dir / "data" / "executor")], start_new_session=True)
    task = spawn(["sleep", "1000"], cwd=run_dir / "data" / "alloc" / "a1", start_new_session=True)
    bystander = spawn(["sh", "-c", "exec sleep 1000", str(tmp_path / "runs" / "4242" / "nomad-10")])
    record = sweep.AgentRecord(
        "nomad-1", str(run_dir), agent.pid, processes.process_create_time(agent.pid), ports=[1, 2, 3]
    )
    state = write_state(run_root, dead_pid(), record)
    executor_children = psutil.Process(executor.pid).children()

    report = sweep.sweep(run_root, grace=0.5)

    assert report == [f"Agent 'nomad-1' of dead process {state.stem} ({run_dir}): cleaned up"]
    for process in (agent, executor, task):
        assert process.wait(5) is not None
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in executor_children)
    assert bystander.poll() is None
    assert not run_dir.exists()
    assert not run_dir.parent.exists()
    assert not state.exists()


def test_sweep_leaves_live_owners_and_unreadable_files_alone(tmp_path, spawn):
    run_root = tmp_path / "runs"
    run_dir = run_root / "1" / "nomad-1"
    run_dir.mkdir(parents=True)
    owner = spawn(["sleep", "1000"])
    live = write_state(
        run_root, (owner.pid, processes.process_create_time(owner.pid)), sweep.AgentRecord("nomad-1", str(run_dir))
    )
    broken = run_root / "state" / "99.json"
    broken.write_text("{not json")

    report = sweep.sweep(run_root)

    assert live.exists() and run_dir.exists()
    assert broken.exists()
    assert len(report) == 1 and report[0].startswith(f"Ignored unreadable state file {broken}")


def test_a_reused_pid_is_not_the_recorded_process(spawn):
    process = spawn(["sleep", "1000"])
    created = processes.process_create_time(process.pid)
    assert processes.is_same_process(process.pid, created)
    assert not processes.is_same_process(process.pid, created - 100)


def test_a_stepped_clock_does_not_make_a_live_process_another_one(spawn):
    process = spawn(["sleep", "1000"])
    created = processes.process_create_time(process.pid)
    started = processes.process_started(process.pid)
    # The boot time the kernel reports, and so psutil's create_time, jitters by a second as the clock moves.
    assert processes.is_same_process(process.pid, created + 1.0)
    assert not processes.is_same_process(process.pid, created + 1.5)
    # Recorded with its start after boot, it is the same process whatever the clock did since.
    assert processes.is_same_process(process.pid, created - 3600, started)
    assert not processes.is_same_process(process.pid, created, started - 0.01)


def test_a_live_owner_recorded_before_the_clock_moved_is_not_swept(tmp_path, spawn):
    owner = spawn(["sleep", "1000"])
    run_root, run_dir = tmp_path, tmp_path / "live-run"
    run_dir.mkdir()
    state = sweep.StateFile(run_root, owner.pid)
    state.write([sweep.AgentRecord("nomad-1", str(run_dir))])
    content = json.loads(state.path.read_text())
    content["create_time"] -= 3600
    state.path.write_text(json.dumps(content))

    assert sweep.sweep(run_root) == []
    assert run_dir.exists()


def test_a_zombie_owner_counts_as_gone():
    process = subprocess.Popen(["true"])
    created = processes.process_create_time(process.pid)
    poll(lambda: Pending("running") if processes.is_alive(process.pid) else Done(), Deadline(10))
    try:
        assert psutil.Process(process.pid).status() == psutil.STATUS_ZOMBIE
        assert not processes.is_same_process(process.pid, created)
    finally:
        process.wait()


def test_state_file_is_rewritten_and_removed_when_empty(tmp_path):
    state = sweep.StateFile(tmp_path)
    state.write([sweep.AgentRecord("a", "/x", ports=[1, 2, 3])])
    content = json.loads(state.path.read_text())
    assert content["pid"] == os.getpid() and content["agents"][0]["name"] == "a"
    state.write([])
    assert not state.path.exists()


@needs_root
def test_cleanup_unmounts_and_removes_cgroups(tmp_path, spawn):
    run_dir = tmp_path / "nomad-1"
    secrets = run_dir / "data" / "alloc" / "a1" / "t" / "secrets"
    secrets.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(secrets)], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(secrets)], check=True)
    busy = spawn(["sleep", "1000"], cwd=secrets, start_new_session=True)
    parent = f"crunjar-test-{uuid.uuid4().hex[:8]}"
    hierarchies = processes.cgroup_hierarchies(processes.read_mounts())
    made = []
    for hierarchy in hierarchies:
        try:
            (hierarchy / parent / "container").mkdir(parents=True)
            made.append(hierarchy / parent)
        except OSError:
            continue
    if not made:
        pytest.skip("no writable cgroup hierarchy")
    (made[0] / "container" / "cgroup.procs").write_text(str(busy.pid))

    problems = sweep.cleanup(sweep.AgentRecord("nomad-1", str(run_dir), cgroup_parent=parent), grace=0.5)

    assert problems == []
    assert busy.wait(5) is not None
    assert processes.mounts_under(run_dir, processes.read_mounts()) == []
    assert not any(path.exists() for path in made)
    assert not run_dir.exists()


def test_a_log_that_cannot_be_kept_does_not_stop_the_cleanup(tmp_path):
    run_dir = tmp_path / "run" / "nomad-1"
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "agent.log").write_text("the agent's log\n")
    not_a_dir = tmp_path / "results-is-a-file"
    not_a_dir.write_text("")
    warnings: list[str] = []
    problems = sweep.cleanup(
        sweep.AgentRecord("nomad-1", str(run_dir)), grace=0.1, keep_log=not_a_dir / "agent.log", warn=warnings.append
    )
    assert problems == []
    assert not run_dir.exists()
    assert len(warnings) == 1 and "could not be kept at" in warnings[0]

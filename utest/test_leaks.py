"""Leak snapshots: where they look, how processes are told apart, and the difference of two snapshots."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import fake_agent, needs_root

from nomadtest.host import leaks, ocistate, processes
from nomadtest.registry import Agent


def make_agent(tmp_path: Path, name: str = "client-1", cgroup_parent: str = "crunjar-1-abc") -> Agent:
    return fake_agent(tmp_path / name, name=name, cgroup_parent=cgroup_parent)


def info(pid, ppid, cmdline, name=None, cwd="/", cgroups="0::/\n"):
    return leaks.ProcessInfo(pid, ppid, name or Path(cmdline[0]).name, tuple(cmdline), cwd, cgroups)


def test_scope_of_an_agent_names_its_dirs_cgroup_parent_and_plugin(tmp_path):
    scope = leaks.Scope.of(make_agent(tmp_path))
    assert scope.run_dir == str(tmp_path / "client-1")
    assert scope.state_dir == str(tmp_path / "client-1" / "crunjar")
    assert scope.cgroup_parent == "crunjar-1-abc"
    assert scope.plugin == "nomad-driver-crunjar"


def test_scopes_recorded_in_a_snapshot_are_kept_for_agents_no_longer_running(tmp_path):
    stopped = leaks.Scope("gone", "/tmp/x/gone")
    before = {leaks.SCOPES_KEY: [stopped.__dict__, leaks.Scope("client-1", "/old/path").__dict__]}
    scopes = leaks.scopes_of([make_agent(tmp_path)], before)
    assert {scope.agent for scope in scopes} == {"client-1", "gone"}
    # A live agent's current scope wins over the recorded one.
    assert next(scope for scope in scopes if scope.agent == "client-1").run_dir == str(tmp_path / "client-1")


def test_leaked_is_what_the_second_snapshot_adds_by_category():
    before = {"processes": ["a: JVM pid 1 (java)"], "mounts": ["a: tmpfs mount /x"], leaks.SCOPES_KEY: []}
    after = {"processes": ["a: JVM pid 1 (java)", "a: JVM pid 2 (java)"], "mounts": [], "cgroups": ["a: cgroup /c"]}
    left = leaks.leaked(before, after)
    assert left["processes"] == ["a: JVM pid 2 (java)"]
    assert left["mounts"] == [] and left["cgroups"] == ["a: cgroup /c"]
    assert leaks.count(left) == 2
    assert leaks.describe(left) == "processes: a: JVM pid 2 (java)\ncgroups: a: cgroup /c"
    assert leaks.leaked(None, after)["processes"] == after["processes"]


def test_task_processes_are_found_and_named_but_not_the_agent_or_its_plugin(tmp_path):
    run_dir = str(tmp_path / "client-1")
    scope = leaks.Scope("client-1", run_dir, f"{run_dir}/crunjar", "crunjar-1-abc", "nomad-driver-crunjar")
    plugin_path = "/repo/bin/plugins/nomad-driver-crunjar"
    monitor_config = json.dumps({"id": "crunjar-a1-app", "bundle": f"{run_dir}/crunjar/bundles/crunjar-a1-app"})
    table = [
        info(1, 0, ["/sbin/init"]),
        info(100, 1, ["/repo/bin/nomad", "agent", "-config", f"{run_dir}/agent.hcl"], cwd=run_dir),
        info(101, 100, [plugin_path], cwd=run_dir),
        info(102, 101, [plugin_path, "monitor", monitor_config], cwd=run_dir),
        info(103, 102, ["/usr/lib/jvm/bin/java", "-jar", "/x.jar"], cgroups="4:memory:/crunjar-1-abc/crunjar-a1-app\n"),
        info(104, 100, ["/repo/bin/nomad", "logmon"], cwd=run_dir),
        info(105, 1, [plugin_path], cwd=run_dir),  # a plugin its dead agent left behind
        info(106, 1, ["sleep", "100"], cwd=f"{run_dir}/data/alloc/a1"),
        info(107, 1, ["java", "-jar", "other.jar"], cgroups="4:memory:/crunjar-1-abcd/x\n"),  # another agent's
        info(108, 1, [plugin_path], cwd=str(tmp_path / "client-10")),  # another agent's plugin
    ]
    found = sorted(leaks.scope_processes(scope, 100, table))
    assert found == sorted(
        [
            "driver monitor pid 102 (container crunjar-a1-app)",
            "JVM pid 103 (/usr/lib/jvm/bin/java -jar /x.jar)",
            "logmon pid 104",
            "driver plugin pid 105 (orphaned: its agent is gone)",
            "process pid 106 (sleep 100)",
        ]
    )
    # Without a live agent, its plugin is a leftover too.
    leftovers = leaks.scope_processes(scope, None, table)
    assert "driver plugin pid 101 (child of pid 100: /repo/bin/nomad agent)" in leftovers


def test_every_plugin_the_live_agent_runs_is_its_own_whatever_driver_is_under_test(tmp_path):
    run_dir = str(tmp_path / "nomad-1")
    # raw_exec is under test, but Nomad starts every plugin in plugin_dir: crunjar's too.
    scope = leaks.Scope("nomad-1", run_dir, plugin="nomad-driver-raw_exec")
    table = [
        info(100, 1, ["/repo/bin/nomad", "agent", "-config", f"{run_dir}/agent.hcl"], cwd=run_dir),
        info(101, 100, ["/repo/bin/plugins/nomad-driver-crunjar"], cwd=run_dir),
        info(104, 100, ["/repo/bin/nomad", "executor", "{}"], cwd=f"{run_dir}/data/alloc/a1"),
    ]
    assert leaks.scope_processes(scope, 100, table) == ["process pid 104 (/repo/bin/nomad executor {})"]


def test_missing_state_dir_and_cgroup_parent_hold_nothing(tmp_path):
    assert ocistate.containers_below(tmp_path / "no-such-state-dir") == []
    assert leaks.container_cgroups("no-such-parent", [tmp_path]) == []


def test_snapshot_of_a_real_run_dir_lists_processes_bundles_and_alloc_dirs_then_nothing(tmp_path, spawn):
    agent = make_agent(tmp_path, cgroup_parent="")
    bundle = agent.driver_state_dir / "bundles" / "crunjar-a1-app"
    bundle.mkdir(parents=True)
    alloc_dir = agent.run_dir / "data" / "alloc" / "a1"
    alloc_dir.mkdir(parents=True)
    stray = spawn(["sleep", "1000"], cwd=alloc_dir)
    scopes = leaks.scopes_of([agent])

    snapshot = leaks.take_snapshot(scopes, {agent.name: None})

    assert snapshot["processes"] == [f"client-1: process pid {stray.pid} (sleep 1000)"]
    assert snapshot["bundles"] == [f"client-1: bundle {bundle}"]
    assert snapshot["alloc_dirs"] == [f"client-1: alloc dir {alloc_dir}"]
    assert snapshot[leaks.SCOPES_KEY] == [scope.__dict__ for scope in scopes]

    stray.kill()
    stray.wait()
    bundle.rmdir()
    alloc_dir.rmdir()
    assert leaks.count(leaks.leaked(None, leaks.take_snapshot(scopes, {}))) == 0


@needs_root
def test_snapshot_lists_mounts_and_container_cgroups(tmp_path):
    parent = f"crunjar-test-{uuid.uuid4().hex[:8]}"
    agent = make_agent(tmp_path, cgroup_parent=parent)
    secrets = agent.run_dir / "data" / "alloc" / "a1" / "app" / "secrets"
    secrets.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(secrets)], check=True)
    made = []
    try:
        for hierarchy in processes.cgroup_hierarchies(processes.read_mounts()):
            try:
                (hierarchy / parent / "crunjar-a1-app").mkdir(parents=True)
                made.append(hierarchy / parent)
            except OSError:
                continue
        if not made:
            pytest.skip("no writable cgroup hierarchy")

        snapshot = leaks.take_snapshot(leaks.scopes_of([agent]), {})

        assert snapshot["mounts"] == [f"client-1: tmpfs mount {secrets}"]
        assert f"client-1: cgroup {made[0] / 'crunjar-a1-app'}" in snapshot["cgroups"]
        assert len(snapshot["cgroups"]) == len(made)
    finally:
        subprocess.run(["umount", str(secrets)], check=False)
        for path in made:
            (path / "crunjar-a1-app").rmdir()
            path.rmdir()


ALLOC = "3f2a1b2c-0d4e-5f60-7a8b-9c0d1e2f3a4b"
OTHER_ALLOC = "99999999-0d4e-5f60-7a8b-9c0d1e2f3a4b"


def host_view(table=(), containers=(), mounts=(), alloc_cgroups=()) -> leaks.HostView:
    return leaks.HostView(list(mounts), [], list(table), list(containers), list(alloc_cgroups))


def test_a_driver_unknown_to_the_framework_is_found_by_its_agents_dirs_and_allocations(tmp_path):
    """A raw_exec-like agent: no state dir, no cgroup parent, its allocation known from its log only."""
    run_dir = tmp_path / "client-1"
    run_dir.mkdir()
    log = run_dir / "agent.log"
    log.write_text(f"[INFO]  client.alloc_runner.task_runner: Task event: alloc_id={ALLOC} task=app\n")
    scope = leaks.Scope("client-1", str(run_dir), plugin="nomad-driver-raw_exec", log=str(log))
    escaped = info(4242, 1, ["sleep", "300"], cwd=f"{run_dir}/data/alloc/{ALLOC}/app (deleted)")
    jvm = leaks.ProcessInfo(4243, 1, "java", ("java", "-jar", "local/app.jar"), "/", "", alloc_env=ALLOC)
    elsewhere = leaks.ProcessInfo(4244, 1, "java", ("java",), "/", "", alloc_env=OTHER_ALLOC)
    roots = tmp_path / "run-crun"
    containers = [
        ocistate.Container("mine", roots, f'{{"bundle": "{run_dir}/data/alloc/{ALLOC}/app/bundle"}}'),
        ocistate.Container("by-env", roots, f'{{"env": ["NOMAD_ALLOC_ID={ALLOC}"]}}'),
        ocistate.Container("theirs", roots, f'{{"env": ["NOMAD_ALLOC_ID={OTHER_ALLOC}"]}}'),
    ]
    mounts = [processes.Mount(1, f"/var/lib/mydriver/{ALLOC}/rootfs", "overlay")]
    cgroups = [Path(f"/sys/fs/cgroup/unified/nomad.slice/{ALLOC}.app.scope"), Path(f"/x/{OTHER_ALLOC}.app")]

    items = leaks.scope_items(scope, None, host_view([escaped, jvm, elsewhere], containers, mounts, cgroups))

    assert sorted(items["processes"]) == [
        "JVM pid 4243 in allocation 3f2a1b2c (java -jar local/app.jar)",
        "process pid 4242 in allocation 3f2a1b2c (sleep 300)",
    ]
    assert items["containers"] == [f"container mine in {roots}", f"container by-env in {roots}"]
    assert items["mounts"] == [f"overlay mount /var/lib/mydriver/{ALLOC}/rootfs"]
    assert items["cgroups"] == [f"cgroup /sys/fs/cgroup/unified/nomad.slice/{ALLOC}.app.scope"]


def test_an_agent_without_allocations_claims_no_container_cgroup_or_mount_of_another(tmp_path):
    scope = leaks.Scope("client-1", str(tmp_path / "client-1"))
    theirs = ocistate.Container("theirs", tmp_path, f'{{"bundle": "{tmp_path}/client-10/b"}}')
    view = host_view(containers=[theirs], alloc_cgroups=[Path(f"/x/{OTHER_ALLOC}.app")])
    items = leaks.scope_items(scope, None, view)
    assert items["containers"] == [] and items["cgroups"] == [] and items["mounts"] == []

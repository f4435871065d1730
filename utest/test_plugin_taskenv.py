"""The task environment the plugin client builds as a Nomad client would, on a temp dir."""

from __future__ import annotations

import os
import stat

from nomadtest.plugin import stubs, taskenv


def test_the_alloc_and_task_dirs_are_laid_out_as_nomad_lays_them_out(tmp_path):
    environment = taskenv.build(tmp_path, "web", "image", taskenv.Resources())
    try:
        alloc = tmp_path / "alloc" / environment.alloc_id
        for directory in ["alloc/logs", "alloc/tmp", "alloc/data", "web/local", "web/secrets", "web/tmp"]:
            assert stat.S_IMODE((alloc / directory).stat().st_mode) == 0o777, directory
        for stream in ("stdout", "stderr"):
            assert stat.S_ISFIFO((alloc / "alloc" / "logs" / f".web.{stream}.fifo").stat().st_mode)
        assert environment.task_id.startswith(f"{environment.alloc_id}/web/")
        assert environment.directory("alloc") == alloc / "alloc"
        assert environment.directory("local") == alloc / "web" / "local"
    finally:
        environment.stdout.release()
        environment.stderr.release()


def test_the_task_sees_container_paths_when_isolated_and_host_paths_when_not(tmp_path):
    resources = taskenv.Resources(cpu_mhz=750, memory_mb=128, memory_max_mb=256)
    isolated = taskenv.task_variables("a" * 36, "web", tmp_path, "image", resources)
    assert isolated["NOMAD_TASK_DIR"] == "/local" and isolated["NOMAD_ALLOC_DIR"] == "/alloc"
    assert (isolated["NOMAD_CPU_LIMIT"], isolated["NOMAD_MEMORY_LIMIT"], isolated["NOMAD_MEMORY_MAX_LIMIT"]) == (
        "750",
        "128",
        "256",
    )
    plain = taskenv.task_variables("a" * 36, "web", tmp_path, "none", resources)
    assert plain["NOMAD_TASK_DIR"] == str(tmp_path / "web" / "local")


def test_a_log_stream_keeps_what_the_driver_wrote_and_a_release_ends_a_reader_still_waiting(tmp_path):
    environment = taskenv.build(tmp_path, "web", "image", taskenv.Resources(), {"HELLO": "x"})
    writer = os.open(environment.stdout.fifo, os.O_WRONLY)
    os.write(writer, b"line one\n")
    os.close(writer)
    assert environment.stdout.closed.wait(5)
    assert environment.stdout.text == "line one\n"
    environment.stderr.release()
    assert environment.stderr.closed.wait(5)
    assert environment.env["HELLO"] == "x"


def test_the_task_config_carries_the_environment_and_resources(tmp_path):
    environment = taskenv.build(tmp_path, "web", "image", taskenv.Resources())
    try:
        pb = stubs.protocol().driver
        message = taskenv.task_config(pb, environment, b"\x80", taskenv.Resources(memory_mb=64), "nobody")
        assert message.id == environment.task_id and message.alloc_id == environment.alloc_id
        assert message.stdout_path == str(environment.stdout.fifo)
        assert message.resources.allocated_resources.memory.memory_mb == 64
        assert message.resources.linux_resources.memory_limit_bytes == 64 * 1024 * 1024
        assert 0 < message.resources.linux_resources.PercentTicks < 1
        assert message.env["NOMAD_TASK_NAME"] == "web" and message.user == "nobody"
    finally:
        environment.stdout.release()
        environment.stderr.release()

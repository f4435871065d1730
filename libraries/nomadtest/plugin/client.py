"""The RPCs of a driver plugin: Nomad's base and driver services, and go-plugin's controller.

Calls take a :class:`Deadline` and answer Python values; a plugin's error comes back as
:class:`PluginCallError` with the RPC's name, gRPC's status and the plugin's own message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import duration_pb2

from nomadtest.plugin import stubs
from nomadtest.waiting import Deadline

HEALTH = {0: "undetected", 1: "unhealthy", 2: "healthy"}
TASK_STATES = {0: "unknown", 1: "running", 2: "exited"}
FS_ISOLATION = {0: "none", 1: "chroot", 2: "image"}
NETWORK_MODES = {0: "host", 1: "group", 2: "task", 3: "none"}
# The port range a Nomad client gives drivers for tasks (its client_min_port/client_max_port defaults).
CLIENT_MIN_PORT, CLIENT_MAX_PORT = 14000, 14512


class PluginCallError(RuntimeError):
    """An RPC the plugin answered with an error, or did not answer."""

    ROBOT_SUPPRESS_NAME = True

    def __init__(self, rpc: str, error: grpc.RpcError) -> None:
        self.rpc = rpc
        self.code = error.code().name if error.code() else "UNKNOWN"
        self.details = error.details() or ""
        super().__init__(f"{rpc} failed ({self.code}): {self.details}")


@dataclass(frozen=True)
class Fingerprint:
    health: str
    description: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ExitResult:
    exit_code: int
    signal: int
    oom_killed: bool
    error: str = ""

    def __str__(self) -> str:
        text = f"Exit Code: {self.exit_code}, Signal: {self.signal}, OOM Killed: {self.oom_killed}"
        return f"{text}, Error: {self.error}" if self.error else text


@dataclass(frozen=True)
class Event:
    task_id: str
    message: str
    timestamp: datetime
    annotations: dict[str, str] = field(default_factory=dict)


class DriverClient:
    """One gRPC connection to a plugin; also collects its task events from the moment it connects."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target)
        protocol = stubs.protocol()
        self.pb = protocol
        self.base = protocol.base_grpc.BasePluginStub(self.channel)
        self.driver = protocol.driver_grpc.DriverStub(self.channel)
        self.controller = protocol.controller_grpc.GRPCControllerStub(self.channel)
        self.events: list[Event] = []
        self.events_changed = threading.Condition()
        self._events_call = None

    def close(self) -> None:
        if self._events_call is not None:
            self._events_call.cancel()
        self.channel.close()

    def _call(self, rpc: str, method: Any, request: Any, deadline: Deadline) -> Any:
        try:
            return method(request, timeout=max(deadline.remaining(), 0.001))
        except grpc.RpcError as error:
            raise PluginCallError(rpc, error) from None

    # -- base service ------------------------------------------------------------------------------

    def plugin_info(self, deadline: Deadline) -> dict[str, Any]:
        answer = self._call("PluginInfo", self.base.PluginInfo, self.pb.base.PluginInfoRequest(), deadline)
        return {
            "type": self.pb.base.PluginType.Name(answer.type),
            "name": answer.name,
            "plugin_version": answer.plugin_version,
            "api_versions": list(answer.plugin_api_versions),
        }

    def config_schema(self, deadline: Deadline) -> Any:
        return self._call("ConfigSchema", self.base.ConfigSchema, self.pb.base.ConfigSchemaRequest(), deadline).spec

    def set_config(self, msgpack_config: bytes, api_version: str, deadline: Deadline) -> None:
        ports = self.pb.base.NomadDriverConfig(ClientMinPort=CLIENT_MIN_PORT, ClientMaxPort=CLIENT_MAX_PORT)
        nomad = self.pb.base.NomadConfig(driver=ports)
        request = self.pb.base.SetConfigRequest(
            msgpack_config=msgpack_config, nomad_config=nomad, plugin_api_version=api_version
        )
        self._call("SetConfig", self.base.SetConfig, request, deadline)

    # -- driver service ----------------------------------------------------------------------------

    def task_config_schema(self, deadline: Deadline) -> Any:
        request = self.pb.driver.TaskConfigSchemaRequest()
        return self._call("TaskConfigSchema", self.driver.TaskConfigSchema, request, deadline).spec

    def capabilities(self, deadline: Deadline) -> dict[str, Any]:
        answer = self._call(
            "Capabilities", self.driver.Capabilities, self.pb.driver.CapabilitiesRequest(), deadline
        ).capabilities
        return {
            "send_signals": answer.send_signals,
            "exec": answer.exec,
            "fs_isolation": FS_ISOLATION.get(answer.fs_isolation, str(answer.fs_isolation)),
            "network_isolation_modes": [NETWORK_MODES.get(m, str(m)) for m in answer.network_isolation_modes],
            "must_create_network": answer.must_create_network,
            "mount_configs": "none" if answer.mount_configs == 1 else "any",
            "remote_tasks": answer.remote_tasks,
            "disable_log_collection": answer.disable_log_collection,
        }

    def fingerprints(self, deadline: Deadline) -> Iterator[Fingerprint]:
        """The plugin's fingerprint stream, until ``deadline``; the first comes at once."""
        call = self.driver.Fingerprint(self.pb.driver.FingerprintRequest(), timeout=max(deadline.remaining(), 0.001))
        try:
            for answer in call:
                attributes = {name: _attribute(value) for name, value in answer.attributes.items()}
                yield Fingerprint(HEALTH.get(answer.health, str(answer.health)), answer.health_description, attributes)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise PluginCallError("Fingerprint", error) from None
        finally:
            call.cancel()

    def start_task(self, task: Any, deadline: Deadline) -> Any:
        """The handle the plugin returned for ``task`` (a TaskConfig message)."""
        request = self.pb.driver.StartTaskRequest(task=task)
        answer = self._call("StartTask", self.driver.StartTask, request, deadline)
        if answer.result != self.pb.driver.StartTaskResponse.SUCCESS:
            result = self.pb.driver.StartTaskResponse.Result.Name(answer.result)
            raise RuntimeError(f"StartTask answered {result}: {answer.driver_error_msg}")
        return answer.handle

    def wait_task(self, task_id: str, deadline: Deadline) -> ExitResult:
        answer = self._call("WaitTask", self.driver.WaitTask, self.pb.driver.WaitTaskRequest(task_id=task_id), deadline)
        result = answer.result
        return ExitResult(result.exit_code, result.signal, result.oom_killed, answer.err)

    def stop_task(self, task_id: str, timeout: float, signal: str, deadline: Deadline) -> None:
        request = self.pb.driver.StopTaskRequest(task_id=task_id, timeout=_duration(timeout), signal=signal)
        self._call("StopTask", self.driver.StopTask, request, deadline)

    def destroy_task(self, task_id: str, force: bool, deadline: Deadline) -> None:
        request = self.pb.driver.DestroyTaskRequest(task_id=task_id, force=force)
        self._call("DestroyTask", self.driver.DestroyTask, request, deadline)

    def inspect_task(self, task_id: str, deadline: Deadline) -> dict[str, Any]:
        request = self.pb.driver.InspectTaskRequest(task_id=task_id)
        answer = self._call("InspectTask", self.driver.InspectTask, request, deadline)
        task = answer.task
        return {
            "id": task.id,
            "name": task.name,
            "state": TASK_STATES.get(task.state, str(task.state)),
            "started_at": _time(task.started_at),
            "completed_at": _time(task.completed_at),
            "exit_code": task.result.exit_code,
            "signal": task.result.signal,
            "oom_killed": task.result.oom_killed,
            "driver_attributes": dict(answer.driver.attributes),
        }

    def task_stats(self, task_id: str, interval: float, count: int, deadline: Deadline) -> list[dict[str, Any]]:
        """The first ``count`` samples of the plugin's stats stream for the task."""
        request = self.pb.driver.TaskStatsRequest(task_id=task_id, collection_interval=_duration(interval))
        call = self.driver.TaskStats(request, timeout=max(deadline.remaining(), 0.001))
        samples = []
        try:
            for answer in call:
                samples.append(_stats(answer.stats))
                if len(samples) >= count:
                    break
        except grpc.RpcError as error:
            raise PluginCallError("TaskStats", error) from None
        finally:
            call.cancel()
        return samples

    def signal_task(self, task_id: str, signal: str, deadline: Deadline) -> None:
        request = self.pb.driver.SignalTaskRequest(task_id=task_id, signal=signal)
        self._call("SignalTask", self.driver.SignalTask, request, deadline)

    def exec_task(self, task_id: str, command: list[str], timeout: float, deadline: Deadline) -> dict[str, Any]:
        request = self.pb.driver.ExecTaskRequest(task_id=task_id, command=command, timeout=_duration(timeout))
        answer = self._call("ExecTask", self.driver.ExecTask, request, deadline)
        return {
            "stdout": answer.stdout.decode(errors="replace"),
            "stderr": answer.stderr.decode(errors="replace"),
            "exit_code": answer.result.exit_code,
        }

    def exec_task_streaming(self, task_id: str, command: list[str], stdin: bytes, deadline: Deadline) -> dict:
        """``nomad alloc exec`` without a terminal: stdin sent then closed, output read until the exit."""
        pb = self.pb.driver
        setup = pb.ExecTaskStreamingRequest.Setup(task_id=task_id, command=command, tty=False)
        requests = [pb.ExecTaskStreamingRequest(setup=setup)]
        if stdin:
            requests.append(pb.ExecTaskStreamingRequest(stdin=pb.ExecTaskStreamingIOOperation(data=stdin)))
        requests.append(pb.ExecTaskStreamingRequest(stdin=pb.ExecTaskStreamingIOOperation(close=True)))
        stdout, stderr, code = bytearray(), bytearray(), None
        try:
            for answer in self.driver.ExecTaskStreaming(iter(requests), timeout=max(deadline.remaining(), 0.001)):
                stdout += answer.stdout.data
                stderr += answer.stderr.data
                if answer.exited:
                    code = answer.result.exit_code
                    break
        except grpc.RpcError as error:
            raise PluginCallError("ExecTaskStreaming", error) from None
        return {"stdout": stdout.decode(errors="replace"), "stderr": stderr.decode(errors="replace"), "exit_code": code}

    def recover_task(self, task_id: str, handle: Any, deadline: Deadline) -> None:
        request = self.pb.driver.RecoverTaskRequest(task_id=task_id, handle=handle)
        self._call("RecoverTask", self.driver.RecoverTask, request, deadline)

    def shutdown(self, deadline: Deadline) -> None:
        """go-plugin's graceful stop, which Nomad's client asks for before it kills a plugin."""
        self._call("Shutdown", self.controller.Shutdown, self.pb.controller.Empty(), deadline)

    # -- task events -------------------------------------------------------------------------------

    def follow_events(self) -> None:
        """Collects the plugin's task events in the background, as the client's driver handle does."""
        self._events_call = self.driver.TaskEvents(self.pb.driver.TaskEventsRequest())
        threading.Thread(target=self._collect_events, args=(self._events_call,), daemon=True).start()

    def _collect_events(self, call: Any) -> None:
        try:
            for answer in call:
                event = Event(answer.task_id, answer.message, _time(answer.timestamp), dict(answer.annotations))
                with self.events_changed:
                    self.events.append(event)
                    self.events_changed.notify_all()
        except grpc.RpcError:
            pass  # the plugin went away or the stream was cancelled: no more events from this connection


def _duration(seconds: float) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def _time(stamp: Any) -> datetime:
    return datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, tz=UTC)


def _attribute(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _stats(stats: Any) -> dict[str, Any]:
    usage = stats.agg_resource_usage
    return {
        "timestamp": _time(stats.timestamp),
        "memory_rss": usage.memory.rss,
        "memory_usage": usage.memory.usage,
        "memory_max_usage": usage.memory.max_usage,
        "memory_measured": [usage.memory.Fields.Name(f) for f in usage.memory.measured_fields],
        "cpu_percent": usage.cpu.percent,
        "cpu_total_ticks": usage.cpu.total_ticks,
        "cpu_user_mode": usage.cpu.user_mode,
        "cpu_system_mode": usage.cpu.system_mode,
        "cpu_measured": [usage.cpu.Fields.Name(f) for f in usage.cpu.measured_fields],
        "pids": sorted(stats.resource_usage_by_pid),
    }

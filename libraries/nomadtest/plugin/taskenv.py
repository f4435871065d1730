"""The environment a Nomad client builds for a task before it calls StartTask.

An allocation dir ``<data>/alloc/<alloc id>/`` with the shared ``alloc/`` (``logs/``, ``tmp/``,
``data/``) and the task dir ``<task>/`` (``local/``, ``secrets/``, ``tmp/``, ``private/``), all mode
0777 as Nomad makes them so a task user can write; the task's stdout and stderr FIFOs in
``alloc/logs/``, whose read side the client's log collector holds (here a thread per stream that
keeps what it reads); ``NOMAD_*`` variables with the paths the task sees (``/local`` and friends
when the driver isolates the file system, host paths when it does not); and the resources,
allocated and as Linux limits. ``secrets/`` is a plain directory: Nomad mounts a tmpfs there,
which a plugin cannot tell apart and which would leave a mount to clean up.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHARED_DIRS = ("logs", "tmp", "data")
TASK_DIRS = ("local", "secrets", "tmp", "private")
# The fixed names of the allocation a test's tasks belong to; what a client would take from the job.
NAMESPACE = "default"
REGION = "global"
DATACENTER = "dc1"


@dataclass
class LogStream:
    """The read side of one of the task's log FIFOs, as the client's log collector holds it."""

    fifo: Path
    data: bytearray = field(default_factory=bytearray)
    closed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._read, name=f"log {self.fifo.name}", daemon=True).start()

    def _read(self) -> None:
        try:
            # Blocks until the driver opens the write side; ends when every writer closed it.
            with open(self.fifo, "rb", buffering=0) as stream:
                while chunk := stream.read(65536):
                    self.data += chunk
        except OSError:
            pass
        finally:
            self.closed.set()

    def release(self) -> None:
        """Ends a reader still waiting for a writer (a task that never started): an open and close of the
        write side gives it end of file, as a driver that failed a start should do itself."""
        if not self.closed.is_set():
            with contextlib.suppress(OSError):
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))

    @property
    def text(self) -> str:
        return bytes(self.data).decode(errors="replace")


@dataclass
class TaskEnvironment:
    alloc_id: str
    task_name: str
    task_id: str
    alloc_dir: Path
    env: dict[str, str]
    stdout: LogStream
    stderr: LogStream

    @property
    def task_dir(self) -> Path:
        return self.alloc_dir / self.task_name

    def directory(self, name: str) -> Path:
        """``task``, ``alloc`` (the shared dir) or one of the task dir's own."""
        if name == "task":
            return self.task_dir
        if name == "alloc":
            return self.alloc_dir / "alloc"
        if name in TASK_DIRS:
            return self.task_dir / name
        raise ValueError(f"A task's dirs are task, alloc, {', '.join(TASK_DIRS)}; not '{name}'.")


@dataclass(frozen=True)
class Resources:
    cpu_mhz: int = 500
    memory_mb: int = 256
    memory_max_mb: int = 0


def new_task_id(alloc_id: str, task_name: str) -> str:
    """``<alloc id>/<task>/<8 hex>``, the form of the ids Nomad's task runner gives drivers."""
    return f"{alloc_id}/{task_name}/{uuid.uuid4().hex[:8]}"


def build(
    data_dir: Path, task_name: str, isolation: str, resources: Resources, env: dict[str, str] | None = None
) -> TaskEnvironment:
    """Creates the dirs and FIFOs of a new allocation with one task; its log readers wait for the driver."""
    alloc_id = str(uuid.uuid4())
    alloc_dir = data_dir / "alloc" / alloc_id
    for directory in [alloc_dir, alloc_dir / "alloc", *(alloc_dir / "alloc" / name for name in SHARED_DIRS)]:
        _make_dir(directory)
    for directory in [alloc_dir / task_name, *(alloc_dir / task_name / name for name in TASK_DIRS)]:
        _make_dir(directory)
    streams = []
    for kind in ("stdout", "stderr"):
        fifo = alloc_dir / "alloc" / "logs" / f".{task_name}.{kind}.fifo"
        os.mkfifo(fifo, 0o600)
        stream = LogStream(fifo)
        stream.start()
        streams.append(stream)
    task_id = new_task_id(alloc_id, task_name)
    variables = task_variables(alloc_id, task_name, alloc_dir, isolation, resources)
    return TaskEnvironment(alloc_id, task_name, task_id, alloc_dir, {**variables, **(env or {})}, *streams)


def _make_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o777)


def task_variables(
    alloc_id: str, task_name: str, alloc_dir: Path, isolation: str, resources: Resources
) -> dict[str, str]:
    """The ``NOMAD_*`` variables of a task of job ``sanity``, group ``sanity``, as the client sets them."""
    task_dir = alloc_dir / task_name
    if isolation == "none":
        paths = (alloc_dir / "alloc", task_dir / "local", task_dir / "secrets")
    else:
        paths = (Path("/alloc"), Path("/local"), Path("/secrets"))
    variables = {
        "NOMAD_ALLOC_DIR": str(paths[0]),
        "NOMAD_TASK_DIR": str(paths[1]),
        "NOMAD_SECRETS_DIR": str(paths[2]),
        "NOMAD_ALLOC_ID": alloc_id,
        "NOMAD_SHORT_ALLOC_ID": alloc_id[:8],
        "NOMAD_ALLOC_NAME": "sanity.sanity[0]",
        "NOMAD_ALLOC_INDEX": "0",
        "NOMAD_TASK_NAME": task_name,
        "NOMAD_GROUP_NAME": "sanity",
        "NOMAD_JOB_NAME": "sanity",
        "NOMAD_JOB_ID": "sanity",
        "NOMAD_NAMESPACE": NAMESPACE,
        "NOMAD_REGION": REGION,
        "NOMAD_DC": DATACENTER,
        "NOMAD_CPU_LIMIT": str(resources.cpu_mhz),
        "NOMAD_MEMORY_LIMIT": str(resources.memory_mb),
    }
    if resources.memory_max_mb:
        variables["NOMAD_MEMORY_MAX_LIMIT"] = str(resources.memory_max_mb)
    return variables


def node_compute_mhz() -> float:
    """The node's compute as Nomad's fingerprint counts it: cores times the MHz of one."""
    speeds = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                speeds.append(float(line.split(":")[1]))
    cores = os.cpu_count() or 1
    return (sum(speeds) / len(speeds) if speeds else 1000.0) * cores


def task_config(pb: Any, environment: TaskEnvironment, driver_config: bytes, resources: Resources, user: str) -> Any:
    """The ``TaskConfig`` message of StartTask for the task of ``environment``."""
    memory_bytes = (resources.memory_max_mb or resources.memory_mb) * 1024 * 1024
    allocated = pb.AllocatedTaskResources(
        cpu=pb.AllocatedCpuResources(cpu_shares=resources.cpu_mhz),
        memory=pb.AllocatedMemoryResources(memory_mb=resources.memory_mb, memory_max_mb=resources.memory_max_mb),
    )
    linux = pb.LinuxResources(
        cpu_shares=resources.cpu_mhz,
        memory_limit_bytes=memory_bytes,
        PercentTicks=resources.cpu_mhz / node_compute_mhz(),
    )
    return pb.TaskConfig(
        id=environment.task_id,
        name=environment.task_name,
        msgpack_driver_config=driver_config,
        env=environment.env,
        resources=pb.Resources(allocated_resources=allocated, linux_resources=linux),
        user=user,
        alloc_dir=str(environment.alloc_dir),
        stdout_path=str(environment.stdout.fifo),
        stderr_path=str(environment.stderr.fifo),
        task_group_name="sanity",
        job_name="sanity",
        job_id="sanity",
        alloc_id=environment.alloc_id,
        namespace=NAMESPACE,
        node_name=os.uname().nodename,
        node_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, os.uname().nodename)),
    )

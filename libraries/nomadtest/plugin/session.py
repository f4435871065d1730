"""One driver plugin process as a Nomad client holds it: connected, configured, with its tasks.

A session lives in a run dir laid out like an agent's (``data/alloc/<alloc id>/`` per task, the
plugin's log), so the host's leak snapshots and the crash sweep treat it as they treat an agent.
The tasks keep the handles the plugin returned, which is all a restarted plugin gets back.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomadtest import profiles
from nomadtest.host import leaks, processes, sweep
from nomadtest.jobs import taskconfig
from nomadtest.plugin import hclspec, launch, taskenv
from nomadtest.plugin.client import DriverClient, ExitResult, PluginCallError
from nomadtest.waiting import Deadline

# How long a plugin gets to exit after go-plugin's Shutdown before it is killed (Nomad's client: 2 s).
SHUTDOWN_GRACE_SECONDS = 2.0
SUPPORTED_API_VERSION = "v0.1.0"


@dataclass
class DriverTask:
    """A task started through the plugin: its environment, its config and the handle the plugin returned."""

    name: str
    environment: taskenv.TaskEnvironment
    config: dict[str, Any]
    handle: Any
    owner: str
    result: ExitResult | None = None
    destroyed: bool = False

    @property
    def task_id(self) -> str:
        return self.environment.task_id

    def output(self, stream: str = "stdout") -> str:
        return getattr(self.environment, stream).text


@dataclass
class PluginSession:
    name: str
    binary: Path
    profile: profiles.DriverProfile
    run_dir: Path
    agent_uid: str
    owner: str
    process: launch.PluginProcess | None = None
    client: DriverClient | None = None
    info: dict[str, Any] = field(default_factory=dict)
    plugin_config: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, DriverTask] = field(default_factory=dict)
    _capabilities: dict[str, Any] | None = None

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.running else None

    def profile_config(self) -> dict[str, Any]:
        """The profile's plugin config with this session's run dir and uid in its placeholders."""
        return profiles.expand(self.profile.plugin_config, self.run_dir, self.agent_uid)

    def cleanup_setting(self, key: str) -> str:
        option = self.profile.cleanup.get(key)
        value = self.plugin_config.get(option) if option else None
        return str(value) if value else ""

    # -- the process -------------------------------------------------------------------------------

    def launch(self, deadline: Deadline) -> None:
        """Starts the binary, dials it and checks that it is a driver plugin."""
        self.process = launch.start(self.binary, self.run_dir, deadline)
        self.client = DriverClient(self.process.handshake.target)
        self.info = self.client.plugin_info(deadline)
        if self.info["type"] != "DRIVER":
            raise launch.PluginStartError(
                f"{self.binary} is a Nomad plugin of type {self.info['type']}, not a task driver."
            )
        self.client.follow_events()
        self._capabilities = None

    def configure(self, config: dict[str, Any], deadline: Deadline, raw: bytes | None = None) -> None:
        """SetConfig with ``config`` decoded by the plugin's own schema, as the client sends the plugin block;
        ``raw`` is sent as the msgpack config instead, unchecked."""
        schema = self.client.config_schema(deadline)
        encoded = (
            hclspec.encode(schema, config, f'plugin "{self.profile.plugin_binary}" config') if raw is None else raw
        )
        self.client.set_config(encoded, self.api_version, deadline)
        if raw is None:
            self.plugin_config = dict(config)

    @property
    def api_version(self) -> str:
        """The plugin API version the client agrees on: Nomad 1.6's client speaks v0.1.0 only."""
        versions = self.info.get("api_versions") or [SUPPORTED_API_VERSION]
        return SUPPORTED_API_VERSION if SUPPORTED_API_VERSION in versions else versions[0]

    def capabilities(self, deadline: Deadline) -> dict[str, Any]:
        if self._capabilities is None:
            self._capabilities = self.client.capabilities(deadline)
        return self._capabilities

    def kill(self) -> int:
        """SIGKILL of the plugin process alone (its tasks live on); returns its pid."""
        pid = self.process.pid
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process.kill() is None:
            raise RuntimeError(f"Driver plugin process {pid} did not exit 10 s after SIGKILL.")
        return pid

    def shutdown(self) -> None:
        """go-plugin's Shutdown, then SIGKILL after a grace, as Nomad's client stops a plugin."""
        if self.process is None or not self.process.running:
            return
        if self.client is not None:
            with contextlib.suppress(PluginCallError):
                self.client.shutdown(Deadline(SHUTDOWN_GRACE_SECONDS))
            self.client.close()
            self.client = None
        if self.process.wait(SHUTDOWN_GRACE_SECONDS) is None:
            self.process.kill()

    # -- tasks -------------------------------------------------------------------------------------

    def start_task(
        self,
        name: str,
        inputs: dict[str, Any],
        resources: taskenv.Resources,
        env: dict[str, str],
        user: str,
        deadline: Deadline,
        owner: str,
        raw_config: bytes | None = None,
    ) -> DriverTask:
        """StartTask of a JAR task whose config the profile writes from the generic ``inputs``
        (``jar_path``, ``main_class``, ..., ``config`` for the driver's own options); ``raw_config``
        is sent as the msgpack config instead, unchecked, as a broken client might."""
        if name in self.tasks and not self.tasks[name].destroyed:
            raise ValueError(f"Driver plugin '{self.name}' already has a task named '{name}'; destroy it first.")
        mapping = self.profile.task_mapping()
        isolation = self.capabilities(deadline)["fs_isolation"]
        schema = self.client.task_config_schema(deadline)
        environment = taskenv.build(self.data_dir, name, isolation, resources, env)
        try:
            config = taskconfig.render(mapping, self.profile.name, self._delivered(inputs, environment))
            encoded = hclspec.encode(schema, config, f'task "{name}" config') if raw_config is None else raw_config
            message = taskenv.task_config(self.client.pb.driver, environment, encoded, resources, user)
            handle = self.client.start_task(message, deadline)
        except BaseException:
            self.remove_environment(environment)
            raise
        task = DriverTask(name, environment, config, handle, owner)
        self.tasks[name] = task
        return task

    def _delivered(self, inputs: dict[str, Any], environment: taskenv.TaskEnvironment) -> dict[str, Any]:
        """For ``jar_delivery = "artifact"`` the JAR in ``local/``, where the client's artifact hook puts it."""
        jar = inputs.get("jar_path")
        if self.profile.jar_delivery != "artifact" or not jar:
            return inputs
        if not Path(jar).is_file():
            raise FileNotFoundError(f"JAR {jar} does not exist: there is nothing to deliver into the task's local/.")
        shutil.copyfile(jar, environment.task_dir / "local" / Path(jar).name)
        return {**inputs, "jar_path": f"local/{Path(jar).name}"}

    def remove_environment(self, environment: taskenv.TaskEnvironment) -> None:
        """What the client's garbage collection does after DestroyTask: the log readers end, the dirs go."""
        for stream in (environment.stdout, environment.stderr):
            stream.release()
        shutil.rmtree(environment.alloc_dir, ignore_errors=True)

    def destroy_task(self, task: DriverTask, force: bool, deadline: Deadline) -> None:
        self.client.destroy_task(task.task_id, force, deadline)
        task.destroyed = True
        self.remove_environment(task.environment)

    def recover_task(self, task: DriverTask, deadline: Deadline, driver_state: bytes | None = None) -> None:
        """RecoverTask with the handle the plugin returned (its driver state replaced, to tamper with it)."""
        handle = type(task.handle)()
        handle.CopyFrom(task.handle)
        if driver_state is not None:
            handle.driver_state = driver_state
        self.client.recover_task(task.task_id, handle, deadline)

    def recover_all(self, deadline: Deadline) -> list[str]:
        """RecoverTask for every task not destroyed; returns their names."""
        names = [task.name for task in self.tasks.values() if not task.destroyed]
        for name in names:
            self.recover_task(self.tasks[name], deadline)
        return names

    # -- leftovers ---------------------------------------------------------------------------------

    def scope(self) -> leaks.Scope:
        return leaks.Scope(
            agent=self.name,
            run_dir=str(self.run_dir),
            state_dir=self.cleanup_setting("state_dir"),
            cgroup_parent=self.cleanup_setting("cgroup_parent"),
            plugin=self.binary.name,
            log=str(self.run_dir / "plugin.log"),
        )

    def record(self) -> sweep.AgentRecord:
        """What the crash sweep of a later run needs to clean up after this session."""
        pid = self.pid
        return sweep.AgentRecord(
            name=self.name,
            run_dir=str(self.run_dir),
            pid=pid,
            create_time=processes.process_create_time(pid) if pid else None,
            started=processes.process_started(pid) if pid else None,
            driver_state_dir=self.cleanup_setting("state_dir") or None,
            cgroup_parent=self.cleanup_setting("cgroup_parent"),
            runtime=self.cleanup_setting("runtime") or None,
        )

    def close(self, deadline: Deadline) -> list[str]:
        """Destroys the tasks left (forced), stops the plugin and removes what is left; returns problems."""
        problems = []
        for task in self.tasks.values():
            if task.destroyed or self.client is None:
                continue
            try:
                self.destroy_task(task, True, deadline)
            except PluginCallError as error:
                problems.append(f"task '{task.name}' of driver plugin '{self.name}': {error}")
        self.shutdown()
        for task in self.tasks.values():
            for stream in (task.environment.stdout, task.environment.stderr):
                stream.release()
        # The alloc dirs stay until here: the cleanup finds cgroups named after their allocations.
        problems += sweep.cleanup(self.record(), grace=SHUTDOWN_GRACE_SECONDS)
        return problems

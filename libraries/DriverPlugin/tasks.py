"""Keywords that run a task through the driver plugin: start, wait, stop, destroy, signal, recover."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import listener
from nomadtest.library import CRASH, LIFECYCLE, WAIT, LibraryComponent
from nomadtest.plugin import taskenv, waits
from nomadtest.waiting import Deadline

CALL_TIMEOUT = timedelta(seconds=30)
# StopTask blocks for the kill timeout, then waits for the SIGKILL to take: this much beyond it.
STOP_MARGIN_SECONDS = 40


class Tasks(LibraryComponent):
    """A task's life through the driver service."""

    @property
    def manager(self):
        return self.library.manager

    @keyword(tags=[LIFECYCLE])
    def start_driver_task(
        self,
        name: str,
        jar_path: str | None = None,
        main_class: str | None = None,
        class_path: str | None = None,
        jvm_options: list[str] | None = None,
        args: list[str] | None = None,
        config: dict | None = None,
        env: dict | None = None,
        cpu: int = 500,
        memory: int = 256,
        memory_max: int = 0,
        user: str = "",
        raw_config: Any = None,
        plugin: str | None = None,
        timeout: timedelta = CALL_TIMEOUT,
    ) -> str:
        """Builds a task environment and calls ``StartTask``; returns the task's name.

        The task config is written from the profile's ``[task]`` table out of the JAR
        task's inputs (``jar_path``, ``main_class``, ``class_path``, ``jvm_options``,
        ``args``) plus ``config``, the driver's own options, and decoded by the plugin's
        ``TaskConfigSchema`` with its defaults. ``cpu`` (MHz), ``memory`` and
        ``memory_max`` (MiB) are the task's resources; ``env`` is added to the ``NOMAD_*``
        variables; ``user`` is the job's ``user`` (empty: the driver's default).
        ``raw_config`` (bytes or text) is sent as the msgpack config instead, unchecked.
        Fails with the plugin's error when it refuses the task, and then leaves nothing.

        Example:
        | `Start Driver Task` | hello | jar_path=${JARS}/hello.jar | |
        | `Start Driver Task` | sleeper | jar_path=${JARS}/sleeper.jar | args=${{["30"]}} |
        | `Start Driver Task` | small | jar_path=${JARS}/memory-hog.jar | memory=64 |
        """
        inputs = {
            "jar_path": jar_path,
            "main_class": main_class,
            "class_path": class_path,
            "jvm_options": list(jvm_options or []),
            "args": [str(arg) for arg in args or []],
            "config": dict(config or {}),
        }
        task = self.manager.find(plugin).start_task(
            name,
            inputs,
            taskenv.Resources(int(cpu), int(memory), int(memory_max)),
            {str(key): str(value) for key, value in (env or {}).items()},
            user,
            Deadline(timeout),
            listener.current_owner(),
            raw_config.encode() if isinstance(raw_config, str) else raw_config,
        )
        logger.info(f"Started driver task '{name}' ({task.task_id}), config {task.config}.")
        return name

    @keyword(tags=[WAIT])
    def wait_for_driver_task(
        self, task: str, timeout: timedelta = timedelta(seconds=60), plugin: str | None = None
    ) -> dict:
        """Calls ``WaitTask`` until the task exits; returns ``exit_code``, ``signal``, ``oom_killed`` and ``error``.

        Waits for its output to be complete too, and logs its last lines. On timeout fails
        with what ``InspectTask`` says and the task's last output.

        Example:
        | ${exit} = | `Wait For Driver Task` | hello | |
        | Should Be Equal As Integers | ${exit}[exit_code] | 0 | |
        """
        session, found = self.manager.find_task(task, plugin)
        result = waits.wait_task(session, found, Deadline(timeout))
        logger.info(
            f"Driver task '{task}' exited: {result}.\nstdout (last lines):\n{waits.tail(found.output())}\n"
            f"stderr (last lines):\n{waits.tail(found.output('stderr'))}"
        )
        return {
            "exit_code": result.exit_code,
            "signal": result.signal,
            "oom_killed": result.oom_killed,
            "error": result.error,
        }

    @keyword(tags=[LIFECYCLE])
    def stop_driver_task(
        self, task: str, kill_timeout: timedelta = timedelta(seconds=5), signal: str = "", plugin: str | None = None
    ) -> None:
        """Calls ``StopTask`` as Nomad stops a task: ``signal`` (a job's ``kill_signal``; empty is the
        driver's default), then SIGKILL after ``kill_timeout``. Returns when the plugin does.

        Example:
        | `Stop Driver Task` | service | | |
        | `Stop Driver Task` | service | kill_timeout=2s | signal=SIGINT |
        """
        session, found = self.manager.find_task(task, plugin)
        seconds = kill_timeout.total_seconds()
        session.client.stop_task(found.task_id, seconds, signal, Deadline(seconds + STOP_MARGIN_SECONDS))

    @keyword(tags=[LIFECYCLE])
    def destroy_driver_task(
        self, task: str, force: bool = False, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT
    ) -> None:
        """Calls ``DestroyTask`` (``force`` for a running task) and removes the task's dirs, as the client's
        garbage collection does. Fails with the plugin's error, e.g. for a running task without ``force``.

        Example:
        | `Destroy Driver Task` | hello | |
        | `Destroy Driver Task` | service | force=${True} |
        """
        session, found = self.manager.find_task(task, plugin)
        session.destroy_task(found, force, Deadline(timeout))

    @keyword(tags=[LIFECYCLE])
    def signal_driver_task(
        self, task: str, signal: str, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT
    ) -> None:
        """Calls ``SignalTask`` with ``signal`` (``SIGUSR1``), as ``nomad alloc signal`` does.

        Example:
        | `Signal Driver Task` | service | SIGUSR1 |
        """
        session, found = self.manager.find_task(task, plugin)
        session.client.signal_task(found.task_id, signal, Deadline(timeout))

    @keyword(tags=[CRASH])
    def recover_driver_task(
        self, task: str, driver_state: Any = None, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT
    ) -> None:
        """Calls ``RecoverTask`` with the handle the plugin returned when it started the task.

        ``driver_state`` (bytes or text) replaces the driver's state in the handle, to see
        that a plugin refuses a handle it did not write. Fails with the plugin's error.

        Example:
        | `Recover Driver Task` | service | |
        | Run Keyword And Expect Error | * | `Recover Driver Task` | service | driver_state=garbage |
        """
        session, found = self.manager.find_task(task, plugin)
        state = driver_state.encode() if isinstance(driver_state, str) else driver_state
        session.recover_task(found, Deadline(timeout), state)

    @keyword(tags=[CRASH])
    def recover_driver_tasks(self, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT) -> list[str]:
        """Calls ``RecoverTask`` for every task not destroyed, as a client does for a relaunched plugin;
        returns their names.

        Example:
        | `Kill Driver Plugin Process` | |
        | `Restart Driver Plugin` | |
        | `Recover Driver Tasks` | |
        """
        session = self.manager.find(plugin)
        return session.recover_all(Deadline(timeout))

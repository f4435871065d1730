"""The driver plugins a robot process runs, who owns them, and what they leave on the host.

Each session is recorded, like an agent, in a state file of this process (``<pid>-plugins.json``
in the run root's ``state/``), so a later run's sweep cleans up after a killed one; the first
start sweeps what dead runs left. When the test or suite that started a plugin ends, the plugin
is stopped with its tasks destroyed, whatever its teardown did.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from robot.api import logger

from nomadtest import listener, profiles, robotvars
from nomadtest.host import leaks, runroot, sweep
from nomadtest.plugin import launch, waits
from nomadtest.plugin.client import PluginCallError
from nomadtest.plugin.session import DriverTask, PluginSession
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

# How often a leftover check looks again while the driver's cleanup is still under way.
LEFTOVER_POLL_SECONDS = 0.2
FORENSIC_LINES = 30


def default_plugin_dir() -> Path:
    """``$NOMAD_PLUGIN_DIR`` (the kit sets it), else the checkout's ``bin/plugins``."""
    given = os.environ.get("NOMAD_PLUGIN_DIR")
    return Path(given) if given else Path(__file__).resolve().parents[3] / "bin" / "plugins"


class PluginManager:
    def __init__(self) -> None:
        self.sessions: dict[str, PluginSession] = {}
        self._swept = False

    @property
    def run_root(self) -> Path:
        return runroot.run_root()

    def _state_file(self) -> sweep.StateFile:
        state = sweep.StateFile(self.run_root)
        state.path = state.path.with_name(f"{state.pid}-plugins.json")
        return state

    def save_state(self) -> None:
        self._state_file().write(session.record() for session in self.sessions.values())

    def sweep_once(self) -> list[str]:
        if self._swept:
            return []
        self._swept = True
        return sweep.sweep(self.run_root)

    def start(
        self, binary: Path | None, name: str | None, profile: profiles.DriverProfile, deadline: Deadline
    ) -> PluginSession:
        """A new session running ``binary`` (the profile's plugin in the plugin dir by default), not configured."""
        if binary is None:
            binary = default_plugin_dir() / profile.plugin_binary
            if not binary.is_file():
                raise launch.PluginStartError(
                    f"No driver plugin {binary}: set NOMAD_PLUGIN_DIR to the directory holding "
                    f"{profile.plugin_binary} (the profile's plugin), or give the binary."
                )
        name = name or self._new_name()
        if name in self.sessions:
            raise ValueError(f"A driver plugin named '{name}' is already running; give the new one another name.")
        index = robotvars.pabot_queue_index()
        worker = f"pabot{index}-{os.getpid()}" if index is not None else str(os.getpid())
        uid = f"{os.getpid()}-{secrets.token_hex(3)}"
        session = PluginSession(
            name=name,
            binary=Path(binary),
            profile=profile,
            run_dir=self.run_root / worker / f"{name}-{uid}",
            agent_uid=uid,
            owner=listener.current_owner(),
        )
        session.plugin_config = session.profile_config()
        # Recorded before anything exists, so a run killed halfway is swept all the same.
        self.sessions[name] = session
        self.save_state()
        try:
            session.launch(deadline)
        except BaseException:
            self.stop(session, Deadline(10))
            raise
        self.save_state()
        return session

    def _new_name(self) -> str:
        number = 1
        while f"plugin-{number}" in self.sessions:
            number += 1
        return f"plugin-{number}"

    def find(self, name: str | None = None) -> PluginSession:
        if name is None:
            if not self.sessions:
                raise RuntimeError("No driver plugin is running: call Start Driver Plugin first.")
            return list(self.sessions.values())[-1]
        if name not in self.sessions:
            known = ", ".join(self.sessions) or "none"
            raise ValueError(f"No driver plugin named '{name}' is running (running: {known}).")
        return self.sessions[name]

    def find_task(self, task: str | DriverTask, plugin: str | None = None) -> tuple[PluginSession, DriverTask]:
        if isinstance(task, DriverTask):
            for session in self.sessions.values():
                if session.tasks.get(task.name) is task:
                    return session, task
            raise ValueError(f"Driver task '{task.name}' belongs to no running driver plugin.")
        session = self.find(plugin)
        if task not in session.tasks:
            known = ", ".join(session.tasks) or "none"
            raise ValueError(f"Driver plugin '{session.name}' has no task named '{task}' (tasks: {known}).")
        return session, session.tasks[task]

    def restart(self, session: PluginSession, deadline: Deadline) -> int:
        """A fresh plugin process in the same session, configured as before (as Nomad relaunches one)."""
        if session.process is not None and session.process.running:
            session.kill()
        session.launch(deadline)
        session.configure(session.plugin_config, deadline)
        self.save_state()
        return session.process.pid

    def kill(self, session: PluginSession) -> int:
        pid = session.kill()
        self.save_state()
        return pid

    def stop(self, session: PluginSession, deadline: Deadline) -> list[str]:
        problems = session.close(deadline)
        self.sessions.pop(session.name, None)
        self.save_state()
        sweep.remove_if_empty(session.run_dir.parent)
        return problems

    def release(self, owner: str | None, keep: bool = False) -> tuple[list[str], list[str]]:
        """Stops the sessions ``owner`` (every one, without) still holds; for the ownership listener."""
        stopped, problems = [], []
        for session in list(self.sessions.values()):
            if keep:
                continue
            if owner is None or listener.owned_by(owner, session.owner):
                stopped.append(session.name)
                problems += self.stop(session, Deadline(60))
                continue
            # A test's tasks in its suite's plugin: destroyed with the test, like its jobs.
            for task in session.tasks.values():
                if not task.destroyed and listener.owned_by(owner, task.owner) and session.client is not None:
                    stopped.append(f"task '{task.name}' of {session.name}")
                    try:
                        session.destroy_task(task, True, Deadline(60))
                    except PluginCallError as error:
                        problems.append(f"task '{task.name}' of driver plugin '{session.name}': {error}")
        return stopped, problems

    def log_forensics(self, test: str) -> None:
        """For a failed test: each plugin's log tail and each task's state and last output, in log.html."""
        for session in self.sessions.values():
            log = waits.tail(launch.read_log(session.run_dir / "plugin.log"), FORENSIC_LINES)
            parts = [f"Driver plugin '{session.name}' (pid {session.pid}) when '{test}' failed; its log:\n{log}"]
            for task in session.tasks.values():
                if not task.destroyed and session.client is not None:
                    parts.append(f"Task '{task.name}': {waits.describe(session, task)}")
            logger.info("\n\n".join(parts))

    # -- leftovers ---------------------------------------------------------------------------------

    def snapshot(self, session: PluginSession) -> dict:
        return leaks.take_snapshot([session.scope()], {session.name: session.pid})

    def leftovers(self, session: PluginSession, before: dict | None, deadline: Deadline) -> Outcome:
        """Done when the session's tasks hold nothing that ``before`` did not; Pending with what they hold."""

        def check() -> Outcome:
            left = leaks.leaked(before, self.snapshot(session))
            return Pending(leaks.describe(left)) if leaks.count(left) else Done()

        return poll(check, deadline, LEFTOVER_POLL_SECONDS)

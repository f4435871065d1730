"""Keywords that start, configure, question, kill and restart a driver plugin process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import profiles
from nomadtest.library import ASSERTION, CRASH, LIFECYCLE, QUERY, WAIT, LibraryComponent
from nomadtest.plugin import claims, hclspec, waits
from nomadtest.waiting import Deadline

START_TIMEOUT = timedelta(seconds=30)
CALL_TIMEOUT = timedelta(seconds=10)


class Plugin(LibraryComponent):
    """The plugin process and its base service."""

    @property
    def manager(self):
        return self.library.manager

    @keyword(tags=[LIFECYCLE])
    def start_driver_plugin(
        self,
        binary: str | None = None,
        name: str | None = None,
        configure: bool = True,
        timeout: timedelta = START_TIMEOUT,
    ) -> str:
        """Starts the driver plugin ``binary`` as Nomad's client does and returns its name.

        ``binary`` defaults to the profile's plugin (``nomad-driver-<driver>``) in
        ``$NOMAD_PLUGIN_DIR``, else in the checkout's ``bin/plugins/``. The plugin must
        print go-plugin's handshake within ``timeout`` and answer ``PluginInfo`` as a
        driver; otherwise this fails with what it printed and its log. With ``configure``
        it is given the profile's plugin config (`Set Driver Config`), as an agent does.

        Example:
        | `Start Driver Plugin` | | |
        | ${name} = | `Start Driver Plugin` | ${CURDIR}/nomad-driver-milo | name=milo |
        | `Start Driver Plugin` | configure=${False} | |
        """
        deadline = Deadline(timeout)
        session = self.manager.start(binary, name, profiles.active(), deadline)
        if configure:
            session.configure(session.plugin_config, deadline)
        info = session.info
        logger.info(
            f"Driver plugin '{session.name}': {session.binary} pid {session.pid}, {info['name']} "
            f"{info['plugin_version']}, plugin API {', '.join(info['api_versions'])}, log {session.run_dir}/plugin.log"
        )
        return session.name

    @keyword(tags=[LIFECYCLE])
    def set_driver_config(
        self, plugin: str | None = None, raw: Any = None, timeout: timedelta = CALL_TIMEOUT, **options: Any
    ) -> None:
        """Sends ``SetConfig``: the profile's plugin config with ``options`` over it.

        The config is decoded by the plugin's ``ConfigSchema`` as the client decodes the
        agent's ``plugin`` block: an argument it does not know or a value of the wrong
        type fails here, before the plugin sees it. ``raw`` (bytes or text) is sent
        as the msgpack config unchecked, to see what the plugin does with a config it
        cannot decode. Fails with the plugin's error when it refuses the config.

        Example:
        | `Set Driver Config` | | |
        | `Set Driver Config` | default_java_version=17 | |
        | Run Keyword And Expect Error | *state_dir* | `Set Driver Config` | state_dir=relative |
        """
        session = self.manager.find(plugin)
        encoded = raw.encode() if isinstance(raw, str) else raw
        session.configure({**session.profile_config(), **options}, Deadline(timeout), encoded)

    @keyword(tags=[LIFECYCLE])
    def stop_driver_plugin(self, plugin: str | None = None, timeout: timedelta = timedelta(seconds=60)) -> None:
        """Destroys the plugin's tasks left (forced), stops it as Nomad does (go-plugin ``Shutdown``,
        then SIGKILL) and removes its run dir; fails listing what could not be cleaned up.

        Example:
        | `Stop Driver Plugin` |
        """
        problems = self.manager.stop(self.manager.find(plugin), Deadline(timeout))
        if problems:
            raise AssertionError("Stopping the driver plugin left: " + "; ".join(problems))

    @keyword(tags=[CRASH])
    def kill_driver_plugin_process(self, plugin: str | None = None) -> int:
        """SIGKILLs the plugin process alone, as a crash would, waits until it is gone, and returns its pid.

        Its tasks and whatever the driver runs beside the plugin live on; `Restart Driver
        Plugin` and `Recover Driver Tasks` follow as Nomad's client would.

        Example:
        | ${old} = | `Kill Driver Plugin Process` |
        """
        pid = self.manager.kill(self.manager.find(plugin))
        logger.info(f"Killed driver plugin process {pid}.")
        return pid

    @keyword(tags=[LIFECYCLE])
    def restart_driver_plugin(self, plugin: str | None = None, timeout: timedelta = START_TIMEOUT) -> int:
        """Starts the plugin binary again (killing a live one first) and gives it the same config; returns the pid.

        The new process knows no task until `Recover Driver Tasks` hands it their handles.

        Example:
        | `Kill Driver Plugin Process` | |
        | ${new} = | `Restart Driver Plugin` |
        """
        return self.manager.restart(self.manager.find(plugin), Deadline(timeout))

    @keyword(tags=[QUERY])
    def get_driver_plugin_pid(self, plugin: str | None = None) -> int:
        """The pid of the plugin process; fails when it is not running.

        Example:
        | ${pid} = | `Get Driver Plugin Pid` |
        """
        session = self.manager.find(plugin)
        if session.pid is None:
            raise AssertionError(
                f"Driver plugin '{session.name}' is not running (exit status {session.process.process.poll()})."
            )
        return session.pid

    @keyword(tags=[QUERY])
    def get_driver_plugin_info(self, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT) -> dict:
        """``PluginInfo``: ``type``, ``name``, ``plugin_version`` and ``api_versions``.

        Example:
        | ${info} = | `Get Driver Plugin Info` | |
        | Should Be Equal | ${info}[type] | DRIVER |
        """
        return self.manager.find(plugin).client.plugin_info(Deadline(timeout))

    @keyword(tags=[QUERY])
    def get_driver_config_schema(self, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT) -> dict:
        """``ConfigSchema``: the plugin config's arguments, each as ``type``, ``type (required)`` or
        ``type = default``.

        Example:
        | ${schema} = | `Get Driver Config Schema` |
        """
        return hclspec.attributes(self.manager.find(plugin).client.config_schema(Deadline(timeout)))

    @keyword(tags=[QUERY])
    def get_driver_task_config_schema(self, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT) -> dict:
        """``TaskConfigSchema``: a task config's arguments, as `Get Driver Config Schema` shows them.

        Example:
        | ${schema} = | `Get Driver Task Config Schema` | |
        | Dictionary Should Contain Key | ${schema} | jar_path |
        """
        return hclspec.attributes(self.manager.find(plugin).client.task_config_schema(Deadline(timeout)))

    @keyword(tags=[QUERY])
    def get_driver_capabilities(self, plugin: str | None = None, timeout: timedelta = CALL_TIMEOUT) -> dict:
        """``Capabilities``: ``send_signals``, ``exec``, ``fs_isolation`` (none, chroot, image),
        ``network_isolation_modes``, ``must_create_network``, ``mount_configs``, ``remote_tasks``,
        ``disable_log_collection``.

        Example:
        | ${capabilities} = | `Get Driver Capabilities` |
        """
        return self.manager.find(plugin).capabilities(Deadline(timeout))

    @keyword(tags=[ASSERTION])
    def driver_capabilities_should_be(self, plugin: str | None = None, **expected: Any) -> None:
        """Fails unless each capability named has the value given (compared as text).

        Example:
        | `Driver Capabilities Should Be` | exec=True | fs_isolation=image |
        """
        found = self.get_driver_capabilities(plugin)
        wrong = [
            f"{name} is {found.get(name)!r}, not {value!r}"
            for name, value in expected.items()
            if str(found.get(name)) != str(value)
        ]
        if wrong:
            raise AssertionError("Driver capabilities differ: " + "; ".join(wrong))

    @keyword(tags=[ASSERTION])
    def driver_capabilities_should_match_profile(self, plugin: str | None = None) -> None:
        """Fails when ``Capabilities()`` contradicts what the driver's profile claims (exec, signals,
        isolation): Nomad's client trusts the plugin's answer, so such a claim cannot hold through an agent.

        Example:
        | `Driver Capabilities Should Match Profile` |
        """
        session = self.manager.find(plugin)
        wrong = claims.inconsistencies(session.profile, session.capabilities(Deadline(CALL_TIMEOUT)))
        if wrong:
            raise AssertionError(
                f"Driver profile {session.profile.source} and the plugin disagree: " + "; ".join(wrong)
            )

    @keyword(tags=[ASSERTION])
    def driver_schemas_should_take_the_profile(self, plugin: str | None = None) -> None:
        """Fails when ``ConfigSchema`` lacks an option of the profile's ``[plugin_config]`` or
        ``TaskConfigSchema`` one that the profile's ``[task]`` table writes: Nomad would refuse
        the agent's plugin block or every job of the driver with "Unsupported argument".

        Example:
        | `Driver Schemas Should Take The Profile` |
        """
        session = self.manager.find(plugin)
        wrong = [
            f"ConfigSchema has no {option}"
            for option in claims.unknown_plugin_options(session.profile, self.get_driver_config_schema(plugin))
        ] + [
            f"TaskConfigSchema has no {option}"
            for option in claims.unknown_task_options(session.profile, self.get_driver_task_config_schema(plugin))
        ]
        if wrong:
            raise AssertionError(
                f"Driver profile {session.profile.source} and the plugin disagree: " + "; ".join(wrong)
            )

    @keyword(tags=[WAIT])
    def wait_for_driver_health(
        self, health: str = "healthy", plugin: str | None = None, timeout: timedelta = timedelta(seconds=30)
    ) -> dict:
        """Reads the plugin's ``Fingerprint`` stream until it reports ``health`` (healthy, unhealthy,
        undetected); returns that fingerprint: ``health``, ``description`` and ``attributes``.

        Fails with the last health and description seen.

        Example:
        | ${fingerprint} = | `Wait For Driver Health` | |
        | Should Not Be Empty | ${fingerprint}[attributes] | |
        """
        found = waits.wait_for_health(self.manager.find(plugin), health, Deadline(timeout))
        logger.info(f"Fingerprint: {found.health} ({found.description}), {len(found.attributes)} attribute(s).")
        return {"health": found.health, "description": found.description, "attributes": found.attributes}

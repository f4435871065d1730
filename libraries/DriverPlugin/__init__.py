"""DriverPlugin: a Nomad task driver plugin binary tested directly over Nomad's plugin protocol."""

from __future__ import annotations

from nomadtest import __version__, failures
from nomadtest.library import NomadLibrary
from nomadtest.listener import OwnershipListener
from nomadtest.plugin.manager import PluginManager

from .leftovers import Leftovers
from .plugin import Plugin
from .task_io import TaskIO
from .tasks import Tasks

__all__ = ["DriverPlugin", "__version__"]


class DriverPlugin(NomadLibrary):
    """Starts a driver plugin binary as a Nomad client would and calls its RPCs, without an agent.

    Nomad's task drivers are go-plugin gRPC plugins. This library starts the binary with
    Nomad's magic cookie, reads its handshake line and dials its unix socket, then speaks
    the base service (``PluginInfo``, ``ConfigSchema``, ``SetConfig``) and the driver
    service (``Fingerprint``, ``Capabilities``, ``StartTask``, ``WaitTask``, ``StopTask``,
    ``DestroyTask``, ``InspectTask``, ``TaskStats``, ``TaskEvents``, ``SignalTask``,
    ``ExecTask``, ``ExecTaskStreaming``, ``RecoverTask``) like csi-sanity and critest speak
    to their plugins. A case takes a fraction of a second to a few seconds, not an agent's.

    = Configs =

    Configs go to the plugin as the client sends them: decoded by the plugin's own schema
    (``ConfigSchema``, ``TaskConfigSchema``), defaults applied, values converted to the
    schema's types, then msgpack. An argument the schema does not know is refused before
    the plugin sees it, as Nomad refuses the job. The plugin config is the driver profile's
    ``[plugin_config]`` (``{run_dir}`` and ``{agent_uid}`` per plugin); a task's config is
    written from the profile's ``[task]`` table, as the job templates write it, from the
    generic inputs ``jar_path``, ``main_class``, ``class_path``, ``jvm_options``, ``args``.

    = The task environment =

    `Start Driver Task` builds what a client builds: an allocation dir with ``alloc/``
    (``logs/``, ``tmp/``, ``data/``) and the task dir (``local/``, ``secrets/``, ``tmp/``,
    ``private/``), the stdout and stderr FIFOs whose read side this library holds (the
    output is kept for `Get Driver Task Output`), the ``NOMAD_*`` environment and the
    task's resources. With ``jar_delivery = "artifact"`` the JAR is copied into
    ``local/``, where Nomad's artifact hook would leave it.

    = Plugins and tasks by name =

    Keywords take the plugin's name (``plugin=``, the last one started by default) and
    the task's name. What a test or suite starts is its own: when it ends, its tasks are
    destroyed and its plugins stopped, whatever its teardown did; a run killed halfway is
    swept by the next run, like an agent.

    = Example =

    | `Start Driver Plugin`
    | `Wait For Driver Health`
    | `Start Driver Task`    hello    jar_path=${JARS}/hello.jar
    | ${exit} =    `Wait For Driver Task`    hello
    | Should Be Equal As Integers    ${exit}[exit_code]    0
    | `Driver Task Output Should Contain`    hello    Hello from crunjar!
    | `Destroy Driver Task`    hello
    | `Stop Driver Plugin`
    """

    def __init__(self) -> None:
        self.manager = PluginManager()
        failures.register("driver plugins", self.manager.log_forensics)
        self.ROBOT_LIBRARY_LISTENER = OwnershipListener(self.manager.release, "driver plugin(s) or task(s)")
        super().__init__([Plugin, Tasks, TaskIO, Leftovers])

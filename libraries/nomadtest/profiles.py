"""Driver profiles: what the driver under test claims, how its task config says what to run, how
JARs reach its tasks, its plugin config.

One TOML file per driver, ``resources/drivers/<driver>.toml`` (or the file ``NOMAD_DRIVER_PROFILE``
names). Tests tagged ``needs:<capability>`` are skipped, with the reason, when the profile of the
driver under test does not claim that capability. A profile that names what the framework does
not know (a key, a capability, a task input) is refused with the fix, at the start of the run.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomadtest import versions

ENVIRONMENT_VARIABLE = "NOMAD_DRIVER_PROFILE"
NEEDS_TAG_PREFIX = "needs:"
JAR_DELIVERIES = ("host_path", "artifact")
# Not a driver's claims but the run's: its agents are processes on this host (crash injection, agent
# logs and host leak checks need that), or it is attached to an external cluster named by NOMAD_ADDR.
LOCAL_AGENTS = "local-agents"
EXTERNAL_CLUSTER = "external-cluster"

# What tests need of a driver, one line each (the README lists them). A profile claims the driver's
# under ``capabilities``; the inputs its [task] table maps are claimed by the mapping itself.
VOCABULARY = {
    "args": "program arguments reach the main class (the [task] table maps args)",
    "jvm-options": "JVM options reach the JVM (the [task] table maps jvm_options)",
    "main-class": "a main class and class path run instead of a JAR (the [task] table maps main_class)",
    "isolation": "read-only root, private namespaces, dropped capabilities",
    "cgroup-limits": "memory and CPU limits from the task's resources",
    "cpu-hard-limit": "cpu_hard_limit = true: a CFS quota holds the task to its cpu",
    "oom-reporting": "an OOM kill reported as such, with the limit",
    "recovery": "tasks survive plugin crashes and agent restarts",
    "exec": "commands run inside the task (nomad alloc exec)",
    "signals": "Signal Task reaches the JVM",
    "sigterm-by-default": "a task is stopped with SIGTERM unless its job says otherwise",
    "java-version": "java_version / java_home task options select the JDK",
    "oci-runtimes": "runtime = crun / runc / a path picks the OCI runtime",
    "jar-discovery": "without a JAR named, the only JAR in local/ runs",
    "crunjar-diagnostics": "crunjar's own messages, fingerprint attributes and container names",
    LOCAL_AGENTS: "the run starts its agents on this host (not a capability of the driver; set by the run)",
    EXTERNAL_CLUSTER: "the run is attached to an external cluster, NOMAD_ADDR (set by the run)",
}
# The generic inputs of a JAR task, the capability each needs, and the task option a driver like
# Nomad's java takes it in (for the messages only: a profile says its own).
TASK_INPUTS = {
    "jar_path": "",
    "main_class": "main-class",
    "class_path": "main-class",
    "jvm_options": "jvm-options",
    "args": "args",
}
PROFILE_KEYS = {
    "name",
    "description",
    "jar_delivery",
    "capabilities",
    "plugin",
    "plugin_config",
    "client",
    "task",
    "cleanup",
    "leak_roots",
}
# What the framework sweeps after an agent, named by the plugin option that holds it: the driver's
# state dir (an OCI runtime root under it), the cgroup parent of its containers, the OCI runtime.
CLEANUP_KEYS = {"state_dir", "cgroup_parent", "runtime"}
# Placeholders a profile's plugin_config may use for what differs per agent.
AGENT_PLACEHOLDERS = ("run_dir", "agent_uid")
TASK_KEYS = {*TASK_INPUTS, "command", "fixed"}


@dataclass(frozen=True)
class JavaCommand:
    """A driver that runs a command (raw_exec, exec): ``program`` in task option ``option``, the
    inputs as ``java`` takes them in ``args_option``."""

    program: str
    option: str
    args_option: str


@dataclass(frozen=True)
class TaskMapping:
    """How the job templates write the driver's ``config {}`` from a JAR task's generic inputs.

    ``options`` maps each input the driver takes to its option name; an input it does not take is
    absent (``jar_path`` absent: the driver finds the JAR in ``local/`` itself). ``fixed`` options
    go into every task. With ``command``, the driver runs a command and the inputs become its
    arguments.
    """

    options: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    command: JavaCommand | None = None

    def takes(self, given: str) -> bool:
        return self.command is not None or given in self.options

    def claimed(self) -> frozenset[str]:
        """The input capabilities this mapping gives the driver."""
        return frozenset(TASK_INPUTS[given] for given in TASK_INPUTS if TASK_INPUTS[given] and self.takes(given))


def run_capabilities() -> frozenset[str]:
    return frozenset({EXTERNAL_CLUSTER if os.environ.get("NOMAD_ADDR", "").strip() else LOCAL_AGENTS})


def _profiles_dir() -> Path:
    """``resources/drivers/`` of the checkout, or the copy installed beside this package."""
    installed = Path(__file__).resolve().parent / "resources" / "drivers"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "resources" / "drivers"


PROFILES_DIR = _profiles_dir()


class ProfileError(ValueError):
    """A driver profile that cannot be read or says something impossible."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class DriverProfile:
    name: str
    source: str  # where it came from, for messages
    description: str = ""
    jar_delivery: str = "artifact"
    capabilities: frozenset[str] = frozenset()
    plugin_config: dict[str, Any] = field(default_factory=dict)
    # Settings of the client block every agent running the driver needs (Nomad java's chroot_env).
    client: dict[str, Any] = field(default_factory=dict)
    task: TaskMapping | None = None
    cleanup: dict[str, str] = field(default_factory=dict)
    # OCI runtime roots of the driver's own, searched for leaked containers besides crun's and runc's.
    leak_roots: tuple[str, ...] = ()
    # The plugin binary's file name in plugin_dir (Nomad names its config block after it); empty for
    # a driver built into Nomad.
    plugin: str = ""

    def lacks(self, tags: list[str]) -> list[str]:
        """The capabilities ``needs:`` tags ask for that this driver does not claim."""
        wanted = [
            tag[len(NEEDS_TAG_PREFIX) :]
            for tag in tags
            if tag.startswith(NEEDS_TAG_PREFIX) and not versions.is_version_tag(tag)
        ]
        have = self.claims() | run_capabilities()
        return [capability for capability in wanted if capability not in have]

    @property
    def plugin_binary(self) -> str:
        """The plugin's file name in plugin_dir: the profile's ``plugin``, else Nomad's convention."""
        return self.plugin or f"nomad-driver-{self.name}"

    def claims(self) -> frozenset[str]:
        """Every capability the driver has: those it claims and the task inputs its mapping takes."""
        return self.capabilities | (self.task.claimed() if self.task else frozenset())

    def state_dir_in_run_dir(self) -> str:
        """Where in each agent's run dir the driver keeps its state (``crunjar``), or ``""``."""
        value = str(self.plugin_config.get(self.cleanup.get("state_dir", ""), ""))
        return value.removeprefix("{run_dir}/") if value.startswith("{run_dir}/") else ""

    def cgroup_parent_prefix(self) -> str:
        """What every agent's cgroup parent starts with (``crunjar-``), or ``""``."""
        value = str(self.plugin_config.get(self.cleanup.get("cgroup_parent", ""), ""))
        return value.split("{agent_uid}")[0] if "{agent_uid}" in value else ""

    def task_mapping(self) -> TaskMapping:
        """How to write this driver's task config; fails with the fix when the profile says nothing."""
        if self.task is None:
            raise ProfileError(
                f"The profile of driver '{self.name}' ({self.source}) has no [task] table, so the job templates "
                "cannot write its task config. Add one saying which task option takes each input: "
                + ", ".join(TASK_INPUTS)
                + " (see docs/test-your-driver.md)."
            )
        return self.task


def load(driver: str, path: str | Path | None = None) -> DriverProfile:
    """The profile of ``driver``: from ``path``, ``$NOMAD_DRIVER_PROFILE`` or ``resources/drivers/``.

    A driver without a profile claims nothing and gets its JARs as artifacts, the delivery every
    driver can take: its tests that need a capability are skipped, the others run.
    """
    chosen = Path(path or os.environ.get(ENVIRONMENT_VARIABLE) or PROFILES_DIR / f"{driver}.toml")
    if not chosen.is_file():
        if path or os.environ.get(ENVIRONMENT_VARIABLE):
            raise ProfileError(f"Driver profile {chosen} does not exist.")
        return DriverProfile(name=driver, source=f"no profile ({chosen} does not exist)")
    try:
        content = tomllib.loads(chosen.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProfileError(f"Driver profile {chosen} cannot be read: {error}") from None
    return _parse(driver, chosen, content)


def _parse(driver: str, chosen: Path, content: dict[str, Any]) -> DriverProfile:
    unknown = sorted(set(content) - PROFILE_KEYS)
    if unknown:
        raise ProfileError(
            f"Driver profile {chosen}: unknown key(s) {', '.join(unknown)}; known: {_known(PROFILE_KEYS)}."
        )
    delivery = content.get("jar_delivery", "artifact")
    if delivery not in JAR_DELIVERIES:
        raise ProfileError(f"Driver profile {chosen}: jar_delivery must be one of {JAR_DELIVERIES}, not {delivery!r}.")
    if content.get("name", driver) != driver:
        raise ProfileError(f"Driver profile {chosen} describes driver {content['name']!r}, not {driver!r}.")
    claimed = frozenset(content.get("capabilities", []))
    strange = sorted(claimed - set(VOCABULARY))
    if strange:
        raise ProfileError(
            f"Driver profile {chosen}: unknown capability {', '.join(strange)}; the framework knows: "
            f"{_known(VOCABULARY)} (one line each in the README)."
        )
    task = _task_mapping(chosen, content["task"]) if "task" in content else None
    if task is not None and delivery == "host_path" and not task.takes("jar_path"):
        raise ProfileError(
            f'Driver profile {chosen}: jar_delivery = "host_path" needs [task] jar_path, the option naming '
            'the JAR on the client; a driver that finds the JAR itself gets it with jar_delivery = "artifact".'
        )
    return DriverProfile(
        name=driver,
        source=str(chosen),
        description=content.get("description", ""),
        jar_delivery=delivery,
        capabilities=claimed,
        plugin_config=dict(content.get("plugin_config", {})),
        client=_client(chosen, content.get("client", {})),
        task=task,
        cleanup=_cleanup(chosen, content.get("cleanup", {})),
        leak_roots=_leak_roots(chosen, content.get("leak_roots", [])),
        plugin=str(content.get("plugin", "")),
    )


def _task_mapping(chosen: Path, table: dict[str, Any]) -> TaskMapping:
    unknown = sorted(set(table) - TASK_KEYS)
    if unknown:
        raise ProfileError(
            f"Driver profile {chosen}: [task] has unknown key(s) {', '.join(unknown)}; known: {_known(TASK_KEYS)}."
        )
    options = {given: table[given] for given in TASK_INPUTS if given in table}
    named = [given for given, option in options.items() if not isinstance(option, str) or not option]
    if named:
        raise ProfileError(
            f"Driver profile {chosen}: [task] {', '.join(named)} must name the driver's task option; "
            "leave an input out when the driver does not take it."
        )
    command = None
    if "command" in table:
        if options:
            raise ProfileError(
                f"Driver profile {chosen}: [task.command] runs java with the inputs as its arguments, so "
                f"{', '.join(options)} cannot also name options."
            )
        given = table["command"]
        try:
            command = JavaCommand(str(given["program"]), str(given["option"]), str(given["args_option"]))
        except (KeyError, TypeError):
            raise ProfileError(
                f'Driver profile {chosen}: [task.command] needs program (e.g. "java"), option (the task '
                "option naming the command) and args_option (the one taking its arguments)."
            ) from None
    return TaskMapping(options=options, fixed=dict(table.get("fixed", {})), command=command)


def _client(chosen: Path, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ProfileError(
            f"Driver profile {chosen}: [client] must be a table of client block settings, not {table!r}."
        )
    if "enabled" in table:
        raise ProfileError(
            f"Driver profile {chosen}: [client] cannot set enabled; the tests choose which agents are clients."
        )
    return dict(table)


def _cleanup(chosen: Path, table: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(table) - CLEANUP_KEYS)
    if unknown:
        raise ProfileError(
            f"Driver profile {chosen}: [cleanup] has unknown key(s) {', '.join(unknown)}; known: "
            f"{_known(CLEANUP_KEYS)}, each naming the plugin option that holds it."
        )
    return {key: str(option) for key, option in table.items()}


def _leak_roots(chosen: Path, roots: Any) -> tuple[str, ...]:
    if not isinstance(roots, list) or not all(isinstance(root, str) and root.startswith("/") for root in roots):
        raise ProfileError(f"Driver profile {chosen}: leak_roots must be a list of absolute paths, not {roots!r}.")
    return tuple(roots)


def expand(config: Any, run_dir: Path, agent_uid: str) -> Any:
    """``config`` with ``{run_dir}`` and ``{agent_uid}`` filled in for one agent, in every string."""
    if isinstance(config, str):
        return config.replace("{run_dir}", str(run_dir)).replace("{agent_uid}", agent_uid)
    if isinstance(config, dict):
        return {key: expand(value, run_dir, agent_uid) for key, value in config.items()}
    if isinstance(config, list):
        return [expand(value, run_dir, agent_uid) for value in config]
    return config


def _known(names: Any) -> str:
    return ", ".join(sorted(names))


_active: DriverProfile | None = None


def use(profile: DriverProfile) -> None:
    """Make ``profile`` the one every library of this process follows (NomadServer's driver)."""
    global _active
    _active = profile


def for_driver(driver: str) -> DriverProfile:
    """The profile of the driver an agent runs: the active one, or that driver's own."""
    chosen = active()
    if chosen.name == driver:
        return chosen
    if driver not in _others:
        _others[driver] = load(driver)
    return _others[driver]


_others: dict[str, DriverProfile] = {}


def known() -> list[DriverProfile]:
    """The shipped profiles and the active one: what a check after the whole run looks for, not
    knowing which drivers the run used. A profile that cannot be read is told elsewhere."""
    found = {}
    for path in sorted(PROFILES_DIR.glob("*.toml")):
        try:
            found[path] = load(path.stem, path)
        except ProfileError:
            continue
    with contextlib.suppress(ProfileError):
        found["active"] = active()
    return list(found.values())


def active() -> DriverProfile:
    """The profile NomadServer chose, else that of ``$NOMAD_DRIVER`` (default crunjar)."""
    return _active or load(os.environ.get("NOMAD_DRIVER") or "crunjar")

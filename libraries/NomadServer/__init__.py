"""NomadServer: start, inspect and stop real ``nomad agent`` processes for end-to-end tests."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from robot.utils import timestr_to_secs

from nomadtest import __version__, failures, profiles, waiting
from nomadtest.agents import needs
from nomadtest.agents.manager import FORENSICS_CAPTURE, AgentManager, AgentPaths
from nomadtest.host import runroot
from nomadtest.library import NomadLibrary
from nomadtest.listener import OwnershipListener, TimeoutNet
from nomadtest.registry import REGISTRY

from .acl import AccessControl
from .agent_logs import AgentLogs
from .capabilities import Capabilities
from .cluster import Cluster
from .inspection import Inspection
from .lifecycle import Lifecycle
from .nodes import NodeFaults
from .settings import Settings

# The reference driver, tested when neither the import nor NOMAD_DRIVER names another.
DEFAULT_DRIVER = "crunjar"
# The safety net of a test without a timeout of its own: 10 times the longest test of this project's suites.
DEFAULT_TEST_TIMEOUT = timedelta(minutes=5)

__all__ = ["NomadServer", "__version__"]

REPO_ROOT = Path(__file__).resolve().parents[2]


class NomadServer(NomadLibrary):
    """Starts and stops real ``nomad agent`` processes for end-to-end tests of task drivers.

    Each agent runs in its own session with its own run directory
    ``<run_root>/<worker>/<agent>`` (configuration, data dir, ``agent.log``), free
    loopback ports and, for the ``crunjar`` driver, its own ``state_dir`` and
    ``cgroup_parent``. Nothing leaves the machine: agents bind 127.0.0.1, the update
    check and cloud fingerprinters are off, and there is no Consul or Vault.

    = Ownership and cleanup =

    An agent belongs to the test that started it, or to the suite when it was
    started in a suite setup or teardown. When its owner ends, a library listener
    stops whatever is still running. Each Robot process records its agents in
    ``<run_root>/state/<pid>.json``; the first start in a later run cleans up after
    processes that died without stopping theirs (pabot kills, double Ctrl-C). An agent
    that fails to start is removed at once; the error names the copy of its log kept
    in ``${OUTPUT DIR}/agents/``.

    = Failed tests =

    When a test fails, the tail of every agent's log (without the framework's own HTTP
    requests) and a link to its full copy go into log.html by themselves, before anything
    the test owned is stopped, whatever its teardown does.

    = Other libraries =

    Keywords take ``agent`` as the name returned by `Start Nomad Server`; without it
    they use the current agent: the most recently started one, or the one `Use Nomad Agent`
    chose. NomadJob, LogVerifier and Recovery reach the same agents without calling these
    keywords.

    = Timeouts =

    Every wait keyword of these libraries takes ``timeout``; given none, it waits the Nomad
    timeout (the ``timeout`` import argument, 1 minute by default, or `Set Nomad Timeout`), some
    a fixed multiple of it as their documentation says. Every test without a timeout of its own
    gets ``test_timeout`` (5 minutes) as Robot's test timeout, a safety net against a driver that
    hangs; a wait in a test body ends before the test's timeout, so the test fails with what the
    wait saw last.

    = Driver profiles =

    The driver under test is one setting, ``driver`` (``NOMAD_DRIVER``): every agent loads it and
    every job template that names a driver gets it. Its profile, ``resources/drivers/<driver>.toml``,
    says how JARs reach its tasks (``jar_delivery``: ``host_path``, or ``artifact`` for drivers
    that see only the task dir; NomadJob then serves each ``jar_path`` over HTTP), its plugin
    config, and the capabilities it claims (``isolation``, ``cgroup-limits``, ``oom-reporting``,
    ``recovery``, ``exec``, ``signals``, ``java-version``...). A test tagged
    ``needs:<capability>`` is skipped with the reason when the driver does not claim it (the
    suites' test setup calls `Skip If Driver Lacks A Needed Capability`, and when a suite setup
    fails, so that its tests never reach their test setup, a listener of this library skips them in
    its place). A driver without a profile claims nothing and gets its JARs as artifacts.

    = The crunjar plugin's options =

    ``plugin_config`` (at import or per `Start Nomad Server`) is the ``config`` block of the
    driver's ``plugin`` stanza. For ``crunjar``:

    | = Option = | = Default = | = Meaning = |
    | runtime | ``crun`` | the OCI runtime: ``crun``, ``runc`` or a path |
    | java_runtimes | every JDK in /usr/lib/jvm, /opt/java, $JAVA_HOME | JDK homes the driver offers |
    | default_java_version | newest found | the Java version of tasks that name none |
    | allow_caps | Docker's set without NET_RAW | capabilities a job may add with ``cap_add`` |
    | default_user | ``nobody`` | the user of tasks that set no ``user`` |
    | state_dir, cgroup_parent, crun_root | set per agent | bundles, containers and cgroups; kept apart per agent |

    Task statistics reach Nomad only with ``telemetry { publish_allocation_metrics = true }``
    (``extra_hcl``).

    = Example =

    | *** Settings ***
    | Library    NomadServer    driver=raw_exec
    |
    | *** Test Cases ***
    | Driver Is Healthy
    |     `Start Nomad Server`
    |     `Driver Should Be Healthy`
    |     [Teardown]    `Stop Nomad Server`
    """

    def __init__(
        self,
        nomad_bin: str | None = None,
        plugin_dir: str | None = None,
        driver: str | None = None,
        plugin_config: dict[str, Any] | None = None,
        run_root: str | None = None,
        results_dir: str | None = None,
        keep_on_failure: bool | None = None,
        driver_profile: str | None = None,
        timeout: timedelta | None = None,
        test_timeout: timedelta | None = None,
    ) -> None:
        """All arguments are optional and default to environment variables, so that
        users point the library at their own binaries without editing suites:

        | = Argument = | = Environment = | = Default = |
        | nomad_bin | NOMAD_BIN | ``<checkout>/bin/nomad``, else ``nomad`` on PATH |
        | plugin_dir | NOMAD_PLUGIN_DIR | ``<checkout>/bin/plugins`` |
        | driver | NOMAD_DRIVER | ``crunjar`` |
        | run_root | NOMAD_E2E_RUN_ROOT | ``/tmp/nomad-e2e`` |
        | results_dir | | ``${OUTPUT DIR}/agents`` |
        | keep_on_failure | NOMAD_E2E_KEEP=1 | off |
        | driver_profile | NOMAD_DRIVER_PROFILE | ``resources/drivers/<driver>.toml`` |
        | timeout | NOMAD_E2E_TIMEOUT | 1 minute |
        | test_timeout | NOMAD_E2E_TEST_TIMEOUT | 5 minutes |

        ``plugin_config`` is the driver plugin's ``config`` block (see the options above);
        keyword-level ``plugin_config`` arguments merge over it.

        ``driver_profile`` says what the driver claims (see `Driver profiles`) and adds its
        ``plugin_config`` under the one given here.

        ``keep_on_failure`` leaves the agents and jobs of a failed test running, for debugging:
        a warning in the log says how to reach each (``NOMAD_ADDR``, run dir, log); the next
        run's first start sweeps them.

        ``timeout`` is what wait keywords given no ``timeout`` wait (see `Timeouts`, `Set Nomad
        Timeout`). ``test_timeout`` is the Robot test timeout of every test that sets none
        (``[Timeout]``, ``Test Timeout``) in the suites importing this library; 0 leaves them
        unbounded.

        Example:
        | Library | NomadServer | driver=raw_exec |
        | Library | NomadServer | driver=crunjar | plugin_config=${{ {'default_java_version': '17'} }} |
        """
        env = os.environ
        waiting.set_nomad_timeout(_seconds(timeout, env.get("NOMAD_E2E_TIMEOUT"), waiting.DEFAULT_NOMAD_TIMEOUT))
        net = _seconds(test_timeout, env.get("NOMAD_E2E_TEST_TIMEOUT"), DEFAULT_TEST_TIMEOUT.total_seconds())
        paths = AgentPaths(
            nomad_bin=Path(nomad_bin or env.get("NOMAD_BIN") or _default_nomad_bin()),
            plugin_dir=Path(plugin_dir or env.get("NOMAD_PLUGIN_DIR") or REPO_ROOT / "bin" / "plugins"),
            run_root=runroot.run_root(run_root or env.get(runroot.ENVIRONMENT_VARIABLE)),
            results_dir=Path(results_dir) if results_dir else None,
        )
        runroot.configure(paths.run_root)
        driver = driver or env.get("NOMAD_DRIVER") or DEFAULT_DRIVER
        # A profile that cannot be used fails `Driver Profile Should Be Valid`, the suite setup of a
        # run, with its fix: failing the import instead would only make every keyword unknown.
        self.profile_error: profiles.ProfileError | None = None
        try:
            profile = profiles.load(driver, driver_profile)
            profiles.use(profile)
        except profiles.ProfileError as error:
            self.profile_error = error
            profile = profiles.DriverProfile(name=driver, source=f"refused: {error}")
        self.manager = AgentManager(paths, driver, {**profile.plugin_config, **(plugin_config or {})})
        if keep_on_failure is not None:
            failures.keep_on_failure(keep_on_failure)
        failures.register(FORENSICS_CAPTURE, lambda test: self.manager.log_forensics(REGISTRY.agents()))
        listeners = [OwnershipListener(self.manager.release), TimeoutNet(net or None)]
        if self.profile_error is None:
            # First, so a test kept a skip is no failure to the ownership listener's forensics.
            listeners.insert(0, needs.UnmetNeedsListener(lambda tags: needs.unmet_need(tags, self.manager)))
        self.ROBOT_LIBRARY_LISTENER = listeners
        super().__init__([Lifecycle, Cluster, Inspection, AgentLogs, Capabilities, NodeFaults, Settings, AccessControl])


def _seconds(given: timedelta | None, environment: str | None, default: float) -> float:
    """An import argument's seconds: given, else from its environment variable (a Robot time), else the default."""
    if given is not None:
        return given.total_seconds()
    return timestr_to_secs(environment) if environment else default


def _default_nomad_bin() -> Path:
    built = REPO_ROOT / "bin" / "nomad"
    if built.exists():
        return built
    return Path(shutil.which("nomad") or built)

"""One conformance run: the driver-agnostic suites against one driver, in robot or pabot, then its report.

The suites ship in the package as ``nomadtest/suites/`` beside ``nomadtest/resources/``, so their
``Resource    ../../resources/...`` imports resolve installed as they do in the checkout's ``suites/``.
Robot runs in a process of its own with this interpreter, so it finds the installed libraries
without PATH; its environment points the libraries at the driver, its profile, Nomad and the JARs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nomadtest

# What a driver team runs: jobs, output, acceptance scenarios and raw API checks. Tests of crunjar's
# own messages among them need crunjar-diagnostics, which only crunjar's profile claims.
SUITES = ("Suites.Jobs", "Suites.Output", "Suites.Scenarios", "Suites.Api")
OUTPUT = "output.xml"


def suites_dir() -> Path:
    """The suites installed with the package, or the checkout's ``suites/``."""
    installed = Path(nomadtest.__file__).resolve().parent / "suites"
    return installed if installed.is_dir() else Path(nomadtest.__file__).resolve().parents[2] / "suites"


@dataclass(frozen=True)
class Run:
    driver: str
    profile: Path
    plugin: Path | None  # None: a driver built into Nomad
    plugin_file_name: str
    nomad_bin: Path
    jars: Path
    outputdir: Path
    processes: int = 1
    robot_options: list[str] = field(default_factory=list)

    def environment(self, plugin_dir: Path) -> dict[str, str]:
        return {
            "NOMAD_DRIVER": self.driver,
            "NOMAD_DRIVER_PROFILE": str(self.profile),
            "NOMAD_BIN": str(self.nomad_bin),
            "NOMAD_PLUGIN_DIR": str(plugin_dir),
            "NOMAD_E2E_JARS": str(self.jars),
        }

    def command(self) -> list[str]:
        robot = [sys.executable, "-m", "robot"]
        # Robot writes output.xml only; the report writes log, report and xunit with the matrix in them.
        options = [
            *("--outputdir", str(self.outputdir), "--output", OUTPUT, "--log", "NONE", "--report", "NONE"),
            *("--loglevel", "DEBUG:INFO", "--metadata", f"Conformance of:{self.driver}"),
            *(option for suite in SUITES for option in ("--suite", suite)),
            *self.robot_options,
        ]
        if self.processes <= 1:
            return [*robot, *options, str(suites_dir())]
        pabot = [sys.executable, "-m", "pabot.pabot", "--processes", str(self.processes), "--no-pabotlib"]
        # Agent logs from each process's output dir; pabot would start `robot` from PATH without --command.
        pabot += ["--artifacts", "log", "--artifactsinsubfolders", "--command", *robot, "--end-command"]
        return [*pabot, *options, str(suites_dir())]


def execute(run: Run) -> int:
    """Runs the suites and returns robot's (or pabot's) exit status."""
    run.outputdir.mkdir(parents=True, exist_ok=True)
    # An earlier run's output.xml must not be reported as this one's if robot writes none.
    (run.outputdir / OUTPUT).unlink(missing_ok=True)
    with plugin_dir(run) as plugins:
        # In the output dir: pabot keeps its .pabotsuitenames in the working directory.
        environment = {**os.environ, **run.environment(plugins)}
        with subprocess.Popen(run.command(), env=environment, cwd=run.outputdir) as process:
            while True:
                try:
                    return process.wait()
                except KeyboardInterrupt:
                    # The same Ctrl-C reached robot, which now stops what it started: wait for it.
                    continue


@contextlib.contextmanager
def plugin_dir(run: Run) -> Iterator[Path]:
    """A plugin dir of this run's own, holding a copy of the plugin under the name Nomad expects."""
    with tempfile.TemporaryDirectory(prefix="nomad-e2e-plugins-") as directory:
        if run.plugin is not None:
            shutil.copy2(run.plugin, Path(directory) / run.plugin_file_name)
        yield Path(directory)

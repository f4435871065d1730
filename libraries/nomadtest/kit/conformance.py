"""One conformance run: the driver-agnostic suites against one driver, in robot or pabot, then its report.

A run has two levels. The sanity level (``suites/sanity/``) talks to the plugin binary itself over
Nomad's plugin protocol, in seconds; the agent level runs jobs through real agents. ``all`` runs the
sanity level first, each level in a robot run of its own, and merges their outputs into one
output.xml; a driver built into Nomad has no binary to start, so its runs have the agent level only.

The suites ship in the package as ``nomadtest/suites/`` beside ``nomadtest/resources/``, so their
``Resource    ../../resources/...`` imports resolve installed as they do in the checkout's ``suites/``.
Robot runs in a process of its own with this interpreter, so it finds the installed libraries
without PATH; its environment points the libraries at the driver, its profile, Nomad and the JARs.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from robot import rebot

import nomadtest

# What a driver team runs: jobs, output, acceptance scenarios and raw API checks. Tests of crunjar's
# own messages among them need crunjar-diagnostics, which only crunjar's profile claims.
SUITES = ("Suites.Jobs", "Suites.Output", "Suites.Scenarios", "Suites.Api")
SANITY_SUITES = ("Suites.Sanity",)
LEVEL_SUITES = {"sanity": SANITY_SUITES, "agent": SUITES}
LEVELS = ("sanity", "agent", "all")
OUTPUT = "output.xml"
# Robot's statuses: up to 250 the number of failed tests, from 251 on a run that went wrong.
MAX_FAILED = 250
CANNOT_RUN = 251
# pabot's status when it found no test to run (robot's for invalid data too).
NO_TESTS = 252


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
    level: str = "all"

    def levels(self) -> list[str]:
        """The levels this run runs, sanity first; without a plugin binary there is no sanity level."""
        wanted = ["sanity", "agent"] if self.level == "all" else [self.level]
        return [level for level in wanted if level != "sanity" or self.plugin is not None]

    def output(self, level: str) -> str:
        """A level's output file: output.xml itself when it is the only level."""
        return OUTPUT if len(self.levels()) == 1 else f"output-{level}.xml"

    def environment(self, plugin_dir: Path) -> dict[str, str]:
        return {
            "NOMAD_DRIVER": self.driver,
            "NOMAD_DRIVER_PROFILE": str(self.profile),
            "NOMAD_BIN": str(self.nomad_bin),
            "NOMAD_PLUGIN_DIR": str(plugin_dir),
            "NOMAD_E2E_JARS": str(self.jars),
        }

    def command(self, level: str = "agent") -> list[str]:
        robot = [sys.executable, "-m", "robot"]
        # Robot writes output.xml only; the report writes log, report and xunit with the matrix in them.
        options = [
            *("--outputdir", str(self.outputdir), "--output", self.output(level), "--log", "NONE", "--report", "NONE"),
            *("--loglevel", "DEBUG:INFO", "--metadata", f"Conformance of:{self.driver}"),
            *(option for suite in LEVEL_SUITES[level] for option in ("--suite", suite)),
            *self.robot_options,
        ]
        # One level may have no test a selection (--include) asks for; the other may. pabot must not see
        # the option: with it and --suite, pabot 5 gives every process all the selected suites.
        empty = ["--runemptysuite"] if len(self.levels()) > 1 else []
        if self.processes <= 1:
            return [*robot, *empty, *options, str(suites_dir())]
        pabot = [sys.executable, "-m", "pabot.pabot", "--processes", str(self.processes), "--no-pabotlib"]
        # Agent logs from each process's output dir; pabot would start `robot` from PATH without --command.
        pabot += ["--artifacts", "log", "--artifactsinsubfolders", "--command", *robot, *empty, "--end-command"]
        return [*pabot, *options, str(suites_dir())]


def execute(run: Run) -> int:
    """Runs each level's suites and returns the number of failed tests (robot's status when one could not run)."""
    run.outputdir.mkdir(parents=True, exist_ok=True)
    # An earlier run's output must not be reported as this one's if robot writes none.
    for name in {OUTPUT, *(run.output(level) for level in run.levels())}:
        (run.outputdir / name).unlink(missing_ok=True)
    statuses = []
    with plugin_dir(run) as plugins:
        # In the output dir: pabot keeps its .pabotsuitenames in the working directory.
        environment = {**os.environ, **run.environment(plugins)}
        for level in run.levels():
            status = _robot(run.command(level), environment, run.outputdir)
            if status == NO_TESTS and run.processes > 1 and not (run.outputdir / run.output(level)).is_file():
                # pabot runs nothing when the selection has no test of this level; robot records the empty level.
                status = _robot(replace(run, processes=1).command(level), environment, run.outputdir)
            statuses.append(status)
    outputs = [run.outputdir / run.output(level) for level in run.levels()]
    written = [str(output) for output in outputs if output.is_file()]
    if len(outputs) > 1 and written:
        rebot(
            *written,
            output=str(run.outputdir / OUTPUT),
            log="NONE",
            report="NONE",
            name="Conformance",
            stdout=io.StringIO(),
        )
    failed = [status for status in statuses if status < CANNOT_RUN]
    return max(statuses) if len(failed) < len(statuses) else min(sum(failed), MAX_FAILED)


def _robot(command: list[str], environment: dict[str, str], outputdir: Path) -> int:
    with subprocess.Popen(command, env=environment, cwd=outputdir) as process:
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

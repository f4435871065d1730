"""The conformance kit before robot starts: its checks, the command it runs, what the package ships."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from robot import api as robot_api

from nomadtest import profiles
from nomadtest.kit import cli, conformance, preflight

REPO_ROOT = Path(__file__).resolve().parents[1]


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_a_missing_profile_is_refused_with_where_to_write_one(tmp_path, monkeypatch):
    monkeypatch.delenv(profiles.ENVIRONMENT_VARIABLE, raising=False)
    with pytest.raises(preflight.NotReadyError, match=r"No profile for driver 'milo'.*--profile FILE"):
        preflight.profile("milo", None)
    with pytest.raises(preflight.NotReadyError, match="does not exist"):
        preflight.profile("milo", tmp_path / "milo.toml")


def test_a_profile_the_framework_cannot_use_is_refused_before_the_run(tmp_path):
    unknown = tmp_path / "milo.toml"
    unknown.write_text('name = "milo"\ncapabilites = ["signals"]\n')
    with pytest.raises(preflight.NotReadyError, match=r"(?s)unknown key.*capabilites.*Fix the profile"):
        preflight.profile("milo", unknown)
    no_task = tmp_path / "bare.toml"
    no_task.write_text('name = "milo"\n')
    with pytest.raises(preflight.NotReadyError, match=r"no \[task\] table"):
        preflight.profile("milo", no_task)


def test_a_plugin_driver_needs_its_binary_and_a_built_in_one_none(tmp_path):
    crunjar = preflight.profile("crunjar", None)
    with pytest.raises(preflight.NotReadyError, match="pass its binary with --plugin PATH"):
        preflight.plugin(crunjar, None)
    with pytest.raises(preflight.NotReadyError, match="not an executable file"):
        preflight.plugin(crunjar, tmp_path / "missing")
    binary = executable(tmp_path / "my-build")
    assert preflight.plugin(crunjar, binary) == binary
    assert preflight.plugin_file_name(crunjar) == "nomad-driver-crunjar"
    java = preflight.profile("java", None)
    assert preflight.plugin(java, None) is None
    assert preflight.plugin_file_name(java) == "nomad-driver-java"


def test_nomad_comes_from_the_option_then_nomad_bin(tmp_path, monkeypatch):
    monkeypatch.setenv("NOMAD_BIN", str(executable(tmp_path / "nomad")))
    assert preflight.nomad_binary(None) == tmp_path / "nomad"
    with pytest.raises(preflight.NotReadyError, match="--nomad-bin PATH"):
        preflight.nomad_binary(tmp_path / "none")


def make_run(tmp_path: Path, **changes) -> conformance.Run:
    settings = {
        "driver": "milo",
        "profile": tmp_path / "milo.toml",
        "plugin": executable(tmp_path / "build-output"),
        "plugin_file_name": "nomad-driver-milo",
        "nomad_bin": tmp_path / "nomad",
        "jars": tmp_path / "jars",
        "outputdir": tmp_path / "results",
        **changes,
    }
    return conformance.Run(**settings)


def test_robot_runs_the_shipped_suites_and_writes_only_output_xml(tmp_path):
    command = make_run(tmp_path, robot_options=["--include", "area:happy"]).command()
    assert command[:3] == [sys.executable, "-m", "robot"]
    assert command[-1] == str(conformance.suites_dir())
    assert (conformance.suites_dir() / "__init__.robot").is_file()
    joined = " ".join(command)
    assert "--log NONE --report NONE" in joined
    assert "--suite Suites.Jobs --suite Suites.Output --suite Suites.Scenarios --suite Suites.Api" in joined
    assert joined.endswith(f"--include area:happy {conformance.suites_dir()}")


def test_pabot_starts_robot_with_this_interpreter(tmp_path):
    command = make_run(tmp_path, processes=2).command()
    assert command[:5] == [sys.executable, "-m", "pabot.pabot", "--processes", "2"]
    start = command.index("--command")
    assert command[start + 1 : start + 4] == [sys.executable, "-m", "robot"]


def test_pabot_does_not_see_runemptysuite_which_would_give_each_process_every_suite(tmp_path):
    command = make_run(tmp_path, processes=2).command("sanity")
    start, end = command.index("--command"), command.index("--end-command")
    assert command[start + 1 : end] == [sys.executable, "-m", "robot", "--runemptysuite"]
    assert "--runemptysuite" not in command[end:]


def test_all_levels_run_sanity_first_each_in_a_robot_run_of_its_own(tmp_path):
    run = make_run(tmp_path)
    assert run.levels() == ["sanity", "agent"]
    sanity = " ".join(run.command("sanity"))
    assert "--output output-sanity.xml" in sanity
    assert "--runemptysuite" in sanity
    assert "--suite Suites.Sanity" in sanity
    assert "--suite Suites.Jobs" in " ".join(run.command("agent"))
    assert make_run(tmp_path, level="agent").levels() == ["agent"]
    assert make_run(tmp_path, level="agent").output("agent") == conformance.OUTPUT


def test_a_driver_built_into_nomad_has_no_sanity_level(tmp_path, capsys):
    assert make_run(tmp_path, plugin=None).levels() == ["agent"]
    status = cli.main(
        ["conformance", "--driver", "java", "--level", "sanity", "--nomad-bin", str(executable(tmp_path / "nomad"))]
    )
    assert status == cli.CANNOT_START
    assert "driver 'java' has none" in capsys.readouterr().err


def test_the_plugin_is_copied_under_the_name_nomad_expects(tmp_path):
    run = make_run(tmp_path)
    with conformance.plugin_dir(run) as plugins:
        assert [path.name for path in plugins.iterdir()] == ["nomad-driver-milo"]
        assert run.environment(plugins)["NOMAD_PLUGIN_DIR"] == str(plugins)
    assert not plugins.exists()
    with conformance.plugin_dir(make_run(tmp_path, plugin=None)) as plugins:
        assert list(plugins.iterdir()) == []


def test_options_after_a_double_dash_go_to_robot(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "prepare", lambda args, robot_options: seen.update(options=robot_options) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["conformance", "--driver", "java", "--", "--include", "area:happy"])
    assert seen["options"] == ["--include", "area:happy"]


def test_a_run_that_cannot_start_exits_2_with_the_fix(capsys, monkeypatch):
    monkeypatch.delenv(profiles.ENVIRONMENT_VARIABLE, raising=False)
    assert cli.main(["conformance", "--driver", "milo"]) == cli.CANNOT_START
    assert "nomad-e2e: No profile for driver 'milo'" in capsys.readouterr().err


def install_layout(target: Path) -> Path:
    """The package data pyproject.toml ships, laid out as pip installs it; returns the suites' dir."""
    setup = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    excluded = setup["exclude-package-data"]
    for package, patterns in setup["package-data"].items():
        source = REPO_ROOT / setup["package-dir"].get(package, f"libraries/{package.replace('.', '/')}")
        for pattern in patterns:
            for path in source.glob(pattern):
                relative = path.relative_to(source)
                if not any(relative.match(skip) for skip in excluded.get(package, [])):
                    (target / package.replace(".", "/") / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target / package.replace(".", "/") / relative)
    return target / "nomadtest" / "suites"


def test_the_shipped_suites_find_everything_they_import_once_installed(tmp_path):
    suites = install_layout(tmp_path / "site-packages")
    dry_run = [sys.executable, "-m", "robot", "--dryrun", "--output", "NONE", "--log", "NONE", "--report", "NONE"]
    levels = (*conformance.SANITY_SUITES, *conformance.SUITES)
    selection = [option for suite in levels for option in ("--suite", suite)]
    # The libraries of this checkout; the suites and resources only from the copy laid out as installed.
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "libraries")}
    answer = subprocess.run(
        [*dry_run, *selection, str(suites)], capture_output=True, text=True, cwd=tmp_path, env=environment, check=False
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "[ ERROR ]" not in answer.stdout + answer.stderr


def test_every_file_of_the_shipped_suite_folders_ships(tmp_path):
    """A dry run renders no job template: a suite's own template left out of the wheel shows only here."""
    suites = install_layout(tmp_path / "site-packages")
    shipped_dirs = {Path(pattern).parts[0] for pattern in _suite_patterns() if "/" in pattern}
    checkout = REPO_ROOT / "suites"
    left_out = [
        str(path.relative_to(checkout))
        for folder in sorted(shipped_dirs)
        for path in (checkout / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and not (suites / path.relative_to(checkout)).is_file()
    ]
    assert left_out == [], "add them to nomadtest.suites in pyproject.toml's package-data"


def _suite_patterns() -> list[str]:
    setup = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setup["package-data"]["nomadtest.suites"]


def test_every_jar_the_shipped_suites_name_is_built_from_a_shipped_app(tmp_path):
    suites = install_layout(tmp_path)
    shipped = suites.parent
    named = set()
    for text in [path.read_text() for path in shipped.rglob("*.r*") if path.suffix in (".robot", ".resource")]:
        named.update(re.findall(r"\$\{JARS\}/([\w-]+)\.jar", text))
    apps = {path.name for path in (shipped / "kit" / "apps").iterdir()}
    assert named and named <= apps
    assert "java21-only" not in apps


def test_the_makefile_names_the_kits_suites():
    makefile = (REPO_ROOT / "Makefile").read_text()
    line = next(line for line in makefile.splitlines() if line.startswith("CONFORMANCE_SUITES :="))
    assert line.split(":=")[1].split()[1::2] == list(conformance.SUITES)


def test_the_e2e_suites_beyond_the_kit_and_the_kits_suites_are_every_suite_once():
    makefile = (REPO_ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(line for line in makefile.splitlines() if line.startswith("E2E_BEYOND_KIT :="))
    beyond = line.split(":=")[1].split()
    kit = [suite for level in conformance.LEVEL_SUITES.values() for suite in level]
    top_level = [
        "Suites." + path.name.title()
        for path in (REPO_ROOT / "suites").iterdir()
        if path.is_dir() and any(path.rglob("*.robot")) and not path.name.startswith("_")
    ]
    assert sorted(beyond + kit) == sorted(top_level)


def test_the_frameworks_self_checks_are_outside_the_kits_suites():
    # make test-e2e leaves area:framework to make test-framework: the kit, which runs a driver team's
    # driver, must hold no test of the framework, and so the split takes no test from it.
    kit = {suite for level in conformance.LEVEL_SUITES.values() for suite in level}
    tests = robot_api.TestSuiteBuilder().build(str(REPO_ROOT / "suites")).all_tests
    framework = [test for test in tests if "area:framework" in test.tags]
    assert framework
    in_kit = [test.full_name for test in framework if kit & set(ancestors(test))]
    assert in_kit == []
    several_areas = [test.full_name for test in framework if sum(tag.startswith("area:") for tag in test.tags) > 1]
    assert several_areas == []


def ancestors(test) -> list[str]:
    names, suite = [], test.parent
    while suite is not None:
        names.append(suite.full_name)
        suite = suite.parent
    return names

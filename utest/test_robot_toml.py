"""robot.toml (RobotCode) and the Makefile's robot options (plain `robot`) say the same."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# robot.toml keys and the robot options they stand for.
OPTIONS = {"output-dir": "--outputdir", "log-level": "--loglevel", "xunit": "--xunit"}


def makefile_options() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"(?m)^(\w+)\s*:?=\s*(.*)$", text))
    common = variables["ROBOT_COMMON"].replace("$(RESULTS)", variables["RESULTS"])
    words = common.split()
    return dict(zip(words[::2], words[1::2], strict=True))


def test_robot_toml_has_the_options_make_test_e2e_passes():
    settings = tomllib.loads((ROOT / "robot.toml").read_text())
    assert {OPTIONS[key]: settings[key] for key in OPTIONS} == makefile_options()
    assert settings["paths"] == ["suites"]

"""Robot Framework variables as the framework reads them, including the ones pabot gives its workers.

The same code also runs outside a Robot run (unit tests, bench scripts), where Robot has no
variables at all: there every variable reads as not set. Pabot passes what identifies a worker as
Robot variables (``--variable``), not in the environment.
"""

from __future__ import annotations

from typing import Any

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError


def robot_variable(name: str, default: Any = None) -> Any:
    """The value of ``name`` (``${OUTPUT DIR}``); ``default`` when it is not set or Robot is not running."""
    try:
        return BuiltIn().get_variable_value(name, default)
    except RobotNotRunningError:
        return default


def pabot_queue_index() -> str | None:
    """Which of pabot's workers this process is; None when pabot did not start it."""
    return robot_variable("${PABOTQUEUEINDEX}")


def under_pabot() -> bool:
    return pabot_queue_index() is not None


def pabotlib_uri() -> str | None:
    """Where the run's PabotLib server listens (``host:port``); None when pabot did not start this process."""
    return robot_variable("${PABOTLIBURI}")


def pabot_caller_id() -> str | None:
    """The id this worker gives PabotLib as the holder of its locks."""
    return robot_variable("${CALLER_ID}")

"""A JAR task's ``config {}``, written from the driver's profile.

Job templates take the generic inputs of a JAR task (``jar_path``, ``main_class``, ``class_path``,
``jvm_options``, ``args``) and ``config`` (options of this driver alone, passed as they are); the
profile's ``[task]`` table says which task option takes each input, which options every task gets,
or that the driver runs ``java`` as a command with the inputs as its arguments. No option name of
any driver is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nomadtest.jobs.specs import JobError
from nomadtest.profiles import TASK_INPUTS, TaskMapping

DRIVER_OPTIONS = "config"
# Written as empty lists when the driver takes them and none are given: an empty config {} would
# reach the driver as null, which Nomad's validation refuses.
LIST_INPUTS = ("jvm_options", "args")


def render(mapping: TaskMapping, driver: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The task's config for ``driver``: fixed options, then the inputs given, then ``config``."""
    given = {name: value for name, value in inputs.items() if name in TASK_INPUTS and value not in (None, "", [])}
    options = dict(inputs.get(DRIVER_OPTIONS) or {})
    if mapping.command is not None:
        command = mapping.command
        return {
            **mapping.fixed,
            command.option: command.program,
            command.args_option: java_arguments(given, driver),
            **options,
        }
    if mapping.takes("jar_path") and not ({"jar_path", "main_class"} & set(given) or inputs.get("artifacts")):
        raise JobError(
            "The job needs variable 'jar_path': pass it as jar_path=<value> (or main_class=, or artifacts= "
            "for a driver that runs the one JAR in local/)."
        )
    refused = [name for name in given if name != "jar_path" and name not in mapping.options]
    if refused:
        needs = sorted({TASK_INPUTS[name] for name in refused})
        raise JobError(
            f"Driver '{driver}' takes no {', '.join(refused)}: its profile's [task] table maps no task option "
            f"for it. Tag the test needs:{' needs:'.join(needs)} so that it is skipped for this driver, or map "
            "the option in the profile."
        )
    config = dict(mapping.fixed)
    given = {**{name: [] for name in LIST_INPUTS if name in mapping.options}, **given}
    for name, value in given.items():
        # A driver that takes no JAR path finds the JAR (delivered as an artifact) in local/ itself.
        if name in mapping.options:
            config[mapping.options[name]] = value
    config.update(options)
    return config


def java_arguments(given: Mapping[str, Any], driver: str) -> list[str]:
    """The inputs as ``java`` takes them: JVM options, then the class or JAR, then program arguments."""
    if "main_class" in given:
        target = [*(["-cp", str(given["class_path"])] if "class_path" in given else []), str(given["main_class"])]
    elif "jar_path" in given:
        target = ["-jar", str(given["jar_path"])]
    else:
        raise JobError(f"Driver '{driver}' runs java as a command: give jar_path or main_class, it finds no JAR.")
    return [*map(str, given.get("jvm_options", [])), *target, *map(str, given.get("args", []))]

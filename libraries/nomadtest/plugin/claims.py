"""What a driver profile's claims require of the plugin's answer to ``Capabilities()``.

Nomad's client trusts ``Capabilities()``: it refuses ``nomad alloc exec`` and ``nomad alloc signal``
to a driver that says it cannot, and sets ``NOMAD_TASK_DIR`` to ``/local`` only for one that isolates
the file system. A profile that claims what the plugin denies would have its tests fail through an
agent for a reason no test names; the plugin level says it at once.
"""

from __future__ import annotations

from typing import Any

from nomadtest.profiles import DriverProfile

# capability claimed -> (field of Capabilities(), what it must be, why)
REQUIREMENTS = {
    "signals": ("send_signals", (True,), "Nomad sends no signal to a driver whose SendSignals is false"),
    "exec": ("exec", (True,), "Nomad refuses alloc exec to a driver whose Exec is false"),
    "isolation": ("fs_isolation", ("chroot", "image"), "an isolated task has a file system isolation"),
}


def inconsistencies(profile: DriverProfile, capabilities: dict[str, Any]) -> list[str]:
    """One line per claim of the profile that the plugin's capabilities contradict."""
    found = []
    for claim in sorted(profile.claims()):
        if claim not in REQUIREMENTS:
            continue
        name, allowed, why = REQUIREMENTS[claim]
        if capabilities.get(name) not in allowed:
            wanted = " or ".join(str(value) for value in allowed)
            found.append(
                f"the profile claims '{claim}' but Capabilities() says {name} = {capabilities.get(name)} "
                f"(needs {wanted}: {why})"
            )
    return found


def unknown_plugin_options(profile: DriverProfile, schema: dict[str, str]) -> list[str]:
    """The options of the profile's ``[plugin_config]`` that the plugin's ConfigSchema lacks."""
    return sorted(option for option in profile.plugin_config if option not in schema)


def unknown_task_options(profile: DriverProfile, schema: dict[str, str]) -> list[str]:
    """The task options the profile's ``[task]`` table writes that the plugin's TaskConfigSchema lacks."""
    mapping = profile.task_mapping()
    written = [*mapping.options.values(), *mapping.fixed]
    if mapping.command is not None:
        written += [mapping.command.option, mapping.command.args_option]
    return sorted(option for option in set(written) if option not in schema)

"""What a conformance run needs, checked before anything starts: each refusal says how to fix it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nomadtest import profiles

HOW_TO_WRITE_A_PROFILE = "docs/test-your-driver.md, 'Describe the driver'"


class NotReadyError(Exception):
    """Something the run needs is missing or wrong; the message names the fix."""


def profile(driver: str, given: Path | None) -> profiles.DriverProfile:
    """The driver's profile: ``given``, else ``$NOMAD_DRIVER_PROFILE``, else the one shipped for it."""
    chosen = given or Path(os.environ.get(profiles.ENVIRONMENT_VARIABLE) or profiles.PROFILES_DIR / f"{driver}.toml")
    if not chosen.is_file():
        raise NotReadyError(
            f"No profile for driver '{driver}': {chosen} does not exist. Write one ({HOW_TO_WRITE_A_PROFILE}; "
            f"the shipped ones are in {profiles.PROFILES_DIR}) and pass it with --profile FILE."
        )
    try:
        loaded = profiles.load(driver, chosen)
        loaded.task_mapping()
    except profiles.ProfileError as error:
        raise NotReadyError(f"{error}\nFix the profile ({HOW_TO_WRITE_A_PROFILE}) and run again.") from None
    return loaded


def plugin(driver: profiles.DriverProfile, given: Path | None) -> Path | None:
    """The plugin binary to test; None for a driver built into Nomad (its profile names no plugin)."""
    if given is None:
        if driver.plugin:
            raise NotReadyError(
                f"Driver '{driver.name}' is a plugin ({driver.plugin}, says {driver.source}): "
                "pass its binary with --plugin PATH."
            )
        return None
    if not (given.is_file() and os.access(given, os.X_OK)):
        raise NotReadyError(f"--plugin {given} is not an executable file: pass the driver's plugin binary.")
    return given.resolve()


def plugin_file_name(driver: profiles.DriverProfile) -> str:
    """Nomad names an external plugin's config block after its file in plugin_dir."""
    return driver.plugin or f"nomad-driver-{driver.name}"


def nomad_binary(given: Path | None) -> Path:
    """``given``, else ``$NOMAD_BIN``, else ``nomad`` on PATH."""
    found = given or os.environ.get("NOMAD_BIN") or shutil.which("nomad")
    if not found:
        raise NotReadyError("No Nomad binary: pass --nomad-bin PATH (or set NOMAD_BIN, or put nomad on PATH).")
    binary = Path(found)
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise NotReadyError(f"Nomad binary {binary} is not an executable file: pass --nomad-bin PATH.")
    return binary.resolve()

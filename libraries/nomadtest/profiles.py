"""Driver profiles: what the driver under test claims, how JARs reach its tasks, its plugin config.

One TOML file per driver, ``resources/drivers/<driver>.toml`` (or the file ``NOMAD_DRIVER_PROFILE``
names). Tests tagged ``needs:<capability>`` are skipped, with the reason, when the profile of the
driver under test does not claim that capability.
"""

from __future__ import annotations

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


def run_capabilities() -> frozenset[str]:
    return frozenset({EXTERNAL_CLUSTER if os.environ.get("NOMAD_ADDR", "").strip() else LOCAL_AGENTS})


def _profiles_dir() -> Path:
    """``resources/drivers/`` of the checkout, or the copy installed beside this package."""
    installed = Path(__file__).resolve().parent / "resources" / "drivers"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "resources" / "drivers"


PROFILES_DIR = _profiles_dir()


class ProfileError(ValueError):
    """A driver profile that cannot be read or says something impossible."""


@dataclass(frozen=True)
class DriverProfile:
    name: str
    source: str  # where it came from, for messages
    description: str = ""
    jar_delivery: str = "artifact"
    capabilities: frozenset[str] = frozenset()
    plugin_config: dict[str, Any] = field(default_factory=dict)

    def lacks(self, tags: list[str]) -> list[str]:
        """The capabilities ``needs:`` tags ask for that this driver does not claim."""
        wanted = [
            tag[len(NEEDS_TAG_PREFIX) :]
            for tag in tags
            if tag.startswith(NEEDS_TAG_PREFIX) and not versions.is_version_tag(tag)
        ]
        have = self.capabilities | run_capabilities()
        return [capability for capability in wanted if capability not in have]


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
    delivery = content.get("jar_delivery", "artifact")
    if delivery not in JAR_DELIVERIES:
        raise ProfileError(f"Driver profile {chosen}: jar_delivery must be one of {JAR_DELIVERIES}, not {delivery!r}.")
    if content.get("name", driver) != driver:
        raise ProfileError(f"Driver profile {chosen} describes driver {content['name']!r}, not {driver!r}.")
    return DriverProfile(
        name=driver,
        source=str(chosen),
        description=content.get("description", ""),
        jar_delivery=delivery,
        capabilities=frozenset(content.get("capabilities", [])),
        plugin_config=dict(content.get("plugin_config", {})),
    )


_active: DriverProfile | None = None


def use(profile: DriverProfile) -> None:
    """Make ``profile`` the one every library of this process follows (NomadServer's driver)."""
    global _active
    _active = profile


def active() -> DriverProfile:
    """The profile NomadServer chose, else that of ``$NOMAD_DRIVER`` (default crunjar)."""
    return _active or load(os.environ.get("NOMAD_DRIVER") or "crunjar")

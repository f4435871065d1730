"""Nomad versions: reading them, comparing them, and the ``needs:nomad>=X`` tags that ask for one.

The framework builds and proves Nomad v1.6.3, the last release under MPL-2.0; users bring any later
Nomad through ``NOMAD_BIN`` or an external cluster. Templates and expectations follow the version of
the agent they talk to; a test that needs what a later Nomad added is tagged ``needs:nomad>=1.9.2``
and skipped, with the reason, on an older agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

NEEDS_NOMAD_PREFIX = "needs:nomad>="
# The version CI builds and proves; templates assume it when no agent's version is known.
PROVEN_VERSION = "1.6.3"
# The first release under the Business Source License 1.1; the releases before are MPL-2.0.
FIRST_BUSL = (1, 7, 0)
_VERSION = re.compile(r"v?(?P<core>\d+(?:\.\d+){0,2})(?:-(?P<pre>[0-9A-Za-z.+-]+))?")


class VersionError(ValueError):
    """A version string that is not a Nomad version."""


@total_ordering
@dataclass(frozen=True)
class NomadVersion:
    """A Nomad release number; a pre-release (``1.8.0-dev``) sorts below its release."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""

    @classmethod
    def parse(cls, text: str) -> NomadVersion:
        """``1.6.3``, ``v1.6.3``, ``Nomad v1.11.0-dev`` or the first line of ``nomad version``."""
        match = _VERSION.search(text.strip().removeprefix("Nomad").strip()) if text else None
        if match is None:
            raise VersionError(f"{text!r} is not a Nomad version such as 1.6.3.")
        parts = [int(part) for part in match["core"].split(".")] + [0, 0]
        return cls(parts[0], parts[1], parts[2], match["pre"] or "")

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: NomadVersion) -> bool:
        # A pre-release of X is below X; two pre-releases of X rank alike.
        return (self.release, not self.prerelease) < (other.release, not other.prerelease)

    def at_least(self, other: str | NomadVersion) -> bool:
        return self >= (other if isinstance(other, NomadVersion) else NomadVersion.parse(other))

    @property
    def licence(self) -> str:
        return "BUSL-1.1" if self.release >= FIRST_BUSL else "MPL-2.0"

    def __str__(self) -> str:
        return ".".join(map(str, self.release)) + (f"-{self.prerelease}" if self.prerelease else "")


def needed(tags: list[str]) -> list[NomadVersion]:
    """The minimum versions that ``needs:nomad>=X`` tags ask for; a malformed tag fails, naming it."""
    wanted = []
    for tag in tags:
        if tag.lower().startswith(NEEDS_NOMAD_PREFIX):
            try:
                wanted.append(NomadVersion.parse(tag[len(NEEDS_NOMAD_PREFIX) :]))
            except VersionError:
                raise VersionError(f"Tag '{tag}' names no version: write it as {NEEDS_NOMAD_PREFIX}1.9.2.") from None
    return wanted


def unmet(tags: list[str], version: NomadVersion) -> list[NomadVersion]:
    """The versions ``needs:nomad>=X`` tags ask for that ``version`` is below."""
    return [wanted for wanted in needed(tags) if version < wanted]


def is_version_tag(tag: str) -> bool:
    return tag.lower().startswith(NEEDS_NOMAD_PREFIX)


def from_agent_self(answer: dict) -> NomadVersion:
    """The version in an agent's ``/v1/agent/self`` answer (``config.Version``)."""
    info = (answer.get("config") or {}).get("Version") or {}
    if not info.get("Version"):
        raise VersionError("The agent's /v1/agent/self carries no config.Version.")
    pre = info.get("VersionPrerelease") or ""
    return NomadVersion.parse(info["Version"] + (f"-{pre}" if pre else ""))

"""Containers in the usual OCI runtime roots, read from the runtimes' own state files.

A driver that runs crun or runc without a ``--root`` of its own leaves its containers in the
runtime's default root: ``/run/crun`` and ``/run/runc`` for root, ``$XDG_RUNTIME_DIR/crun`` and
``$XDG_RUNTIME_DIR/runc`` otherwise. A driver profile may name more roots with
``leak_roots = ["/var/lib/mydriver/runc"]``. Each container is a directory in its root holding
the runtime's state (crun: ``status`` and a copy of ``config.json``; runc: ``state.json``), which
names its bundle, root filesystem, mounts and, for crun, its environment and standard streams:
enough to tell which agent's task it was without asking the runtime or the driver.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nomadtest import profiles

ROOT_DEFAULTS = (Path("/run/crun"), Path("/run/runc"))
USER_ROOTS = ("crun", "runc")  # below $XDG_RUNTIME_DIR for a user other than root
STATE_FILES = ("status", "config.json", "state.json")
# Files only a runtime writes (crun, runc): a bundle's config.json alone is no container.
RUNTIME_STATE = ("status", "state.json")


@dataclass(frozen=True)
class Container:
    id: str
    root: Path
    state: str  # the runtime's state files, as text

    def __str__(self) -> str:
        return f"container {self.id} in {self.root}"


def runtime_roots(profile: profiles.DriverProfile | None = None) -> list[Path]:
    """The default roots of crun and runc for this user, and those the driver profile names."""
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR", "")
    user_roots = [Path(runtime_dir, name) for name in USER_ROOTS] if runtime_dir and os.geteuid() != 0 else []
    roots = [*ROOT_DEFAULTS, *user_roots, *profile_roots(profile)]
    return list(dict.fromkeys(roots))


def profile_roots(profile: profiles.DriverProfile | None = None) -> list[Path]:
    """The driver profile's ``leak_roots``; none when the profile cannot be used (its error is told elsewhere)."""
    try:
        return [Path(root) for root in (profile or profiles.active()).leak_roots]
    except profiles.ProfileError:
        return []


def containers(root: Path) -> list[Container]:
    """The containers whose state is kept in ``root``; none when it does not exist or is not ours to read."""
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        state = "\n".join(_read(entry / name) for name in STATE_FILES)
        if state.strip():
            found.append(Container(entry.name, root, state))
    return found


def containers_below(directory: Path) -> list[Container]:
    """The containers of the runtime roots a driver keeps in its state dir: the dir itself or a
    child of it (crunjar's ``crun/``). Only a runtime's state marks one, not a bundle's config.json."""
    try:
        places = [directory, *sorted(child for child in directory.iterdir() if child.is_dir())]
    except OSError:
        return []
    return [
        container
        for root in places
        for container in containers(root)
        if any((root / container.id / name).is_file() for name in RUNTIME_STATE)
    ]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""

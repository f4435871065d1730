"""The run root: where every robot process keeps its agents' run dirs, its state file and artifacts.

``<run_root>/<worker>/<agent>/`` holds each agent, ``<run_root>/state/<pid>.json`` each process's
record of them, ``<run_root>/artifacts/`` the artifact servers' files. What is left there is listed
by :mod:`nomadtest.host.leftovers`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENVIRONMENT_VARIABLE = "NOMAD_E2E_RUN_ROOT"
DEFAULT_RUN_ROOT = Path("/tmp/nomad-e2e")
STATE_DIR = "state"
ARTIFACTS_DIR = "artifacts"


_configured: Path | None = None


def configure(root: Path) -> None:
    """Make ``root`` the run root of everything in this process (NomadServer's ``run_root``)."""
    global _configured
    _configured = root


def run_root(explicit: str | Path | None = None) -> Path:
    """The run root given, else the one configured, else ``$NOMAD_E2E_RUN_ROOT``, else ``/tmp/nomad-e2e``."""
    return Path(explicit or _configured or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_RUN_ROOT)


def free_space(path: Path) -> str:
    """``N MiB free in <mount>``, for messages about a full or small file system."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return f"{shutil.disk_usage(candidate).free // 2**20} MiB free in {candidate}"
    return "its file system is unknown"

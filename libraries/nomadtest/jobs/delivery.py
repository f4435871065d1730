"""JARs delivered as artifacts, for drivers whose tasks see only their own task dir.

With a profile's ``jar_delivery = "artifact"``, a job's ``jar_path`` naming a file on this host is
served over HTTP from loopback and downloaded by Nomad into the task's ``local/``, which is what
real jobs do; the same test then works for every driver.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nomadtest.jobs.artifacts import ArtifactServers, Served

SERVER_NAME = "jar-delivery"


class JarDelivery:
    """One loopback artifact server for the run, serving each host JAR a job names."""

    def __init__(self) -> None:
        self._servers = ArtifactServers()
        self._served: Served | None = None

    def deliver(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """``variables`` with a host ``jar_path`` turned into an artifact and ``local/<name>``."""
        given = variables.get("jar_path")
        if not isinstance(given, str | Path) or not Path(given).is_absolute() or not Path(given).is_file():
            return dict(variables)
        jar = Path(given).resolve()
        served = self._server()
        # A directory per source path keeps JARs of the same name apart; the task sees the name only.
        relative = Path(hashlib.sha256(str(jar).encode()).hexdigest()[:12]) / jar.name
        target = served.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(jar, target)
        artifacts = [*list(variables.get("artifacts") or []), {"source": served.server.url(str(relative))}]
        return {**variables, "jar_path": f"local/{jar.name}", "artifacts": artifacts}

    def _server(self) -> Served:
        if self._served is None:
            self._served = self._servers.start(SERVER_NAME, 0, Path("/nonexistent"), owner="")
        return self._served

    def close(self) -> None:
        if self._served is not None:
            self._servers.stop(SERVER_NAME)
            self._served = None

"""ArtifactServer: HTTP artifact servers on loopback, with fault injection per path, for Nomad ``artifact`` blocks."""

from __future__ import annotations

import os
from pathlib import Path

from nomadtest import __version__
from nomadtest.jobs.artifacts import ArtifactServers, RequestScope
from nomadtest.library import NomadLibrary
from nomadtest.listener import OwnershipListener

from .serving import Serving

__all__ = ["ArtifactServer", "__version__"]

JARS_DIR = Path(__file__).resolve().parents[2] / "jars" / "build"


class ArtifactServer(NomadLibrary):
    """Serves test artifacts over HTTP on 127.0.0.1, and misbehaves on request.

    Each server serves a directory of its own under the run root, filled from
    ``jars/build/`` (the test JARs and broken fixtures) plus files the test adds. Per
    path, it can delay its answer, limit its bandwidth, drop the connection after N
    bytes, fail the first N requests, or serve the wrong content; every request is
    recorded, so a test can assert what Nomad fetched and how often. Request checks count the
    requests of the running test only (``scope=all`` counts every one since the server started),
    and `Clear Artifact Requests` forgets those made so far.

    A server belongs to the test that started it, or to the suite when started in a
    suite setup; it is stopped, and its directory removed, when its owner ends.
    Leaving that to the library is fine: nothing is reported.

    | Start Artifact Server
    | ${url}=    Get Artifact URL    hello.jar
    | Set Artifact Fault    hello.jar    fail_first=2
    | ${job}=    Submit Job    java-batch    artifacts=${{ [{"source": $url}] }}    restart_attempts=${2}
    | Artifact Should Have Been Requested    hello.jar    times=3
    """

    def __init__(self, jars_dir: str | None = None) -> None:
        """``jars_dir`` is what each server starts with: by default ``$NOMAD_E2E_JARS``, else the
        checkout's ``jars/build/``.

        | Library | ArtifactServer | jars_dir=${CURDIR}/my-jars |
        """
        self.jars_dir = Path(jars_dir or os.environ.get("NOMAD_E2E_JARS") or JARS_DIR)
        self.servers = ArtifactServers()
        self.ROBOT_LIBRARY_LISTENER = [
            OwnershipListener(self.servers.release, "artifact server(s)"),
            RequestScope(self.servers),
        ]
        super().__init__([Serving])

"""Keywords that serve, change and misbehave artifacts, and report what was fetched."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.jobs.artifacts import Fault, as_dict, copy_into, sha256_of
from nomadtest.library import ASSERTION, LIFECYCLE, QUERY, LibraryComponent
from nomadtest.listener import current_owner


class Serving(LibraryComponent):
    """Start and stop servers, put files on them, inject faults, and read the requests they answered."""

    @keyword(tags=[LIFECYCLE])
    def start_artifact_server(self, name: str = "artifacts", port: int = 0) -> str:
        """Start an HTTP server on 127.0.0.1 serving a copy of the test JARs; returns its base URL.

        ``port`` 0 picks a free port. Several servers may run at once under different names.

        | ${base}=    Start Artifact Server
        """
        served = self.library.servers.start(name, port, self.library.jars_dir, current_owner())
        base = served.server.url("")
        logger.info(f"Artifact server '{name}' serves {served.root} at {base}")
        return base

    @keyword(tags=[LIFECYCLE])
    def stop_artifact_server(self, name: str = "artifacts") -> None:
        """Stop the server and remove the directory it served."""
        self.library.servers.stop(name)

    @keyword(tags=[QUERY])
    def get_artifact_url(self, path: str, server: str = "artifacts") -> str:
        """The URL of ``path`` on the server (the file need not exist: a 404 is a valid test).

        | ${url}=    Get Artifact URL    hello.jar
        """
        return self.library.servers.find(server).server.url(path)

    @keyword(tags=[LIFECYCLE])
    def add_artifact(self, source: str, name: str | None = None, server: str = "artifacts") -> str:
        """Copy the file ``source`` into the served tree as ``name``; returns its URL."""
        target = copy_into(self.library.servers.find(server).root, Path(source), name)
        return self.library.servers.find(server).server.url(
            str(target.relative_to(self.library.servers.find(server).root))
        )

    @keyword(tags=[LIFECYCLE])
    def create_artifact(self, name: str, content: str = "", mode: str | None = None, server: str = "artifacts") -> str:
        """Create the file ``name`` with text ``content`` (and octal ``mode``) in the served tree; returns its URL.

        | ${url}=    Create Artifact    resource.txt    content=configuration value 42
        """
        served = self.library.servers.find(server)
        target = served.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        if mode:
            target.chmod(int(mode, 8))
        return served.server.url(name)

    @keyword(tags=[LIFECYCLE])
    def create_large_jar(self, name: str, size_mb: int, base_jar: str = "hello.jar", server: str = "artifacts") -> str:
        """Create a runnable JAR of at least ``size_mb`` MiB: ``base_jar`` plus stored, incompressible padding.

        Returns its URL. The padding is random bytes stored without compression, so
        the download really moves ``size_mb`` MiB.

        | ${url}=    Create Large Jar    big.jar    200
        """
        served = self.library.servers.find(server)
        target = served.root / name
        shutil.copyfile(served.root / base_jar, target)
        block = os.urandom(1 << 20)
        with (
            zipfile.ZipFile(target, "a", compression=zipfile.ZIP_STORED) as jar,
            jar.open("padding.bin", "w", force_zip64=True) as padding,
        ):
            for index in range(size_mb):
                # Vary each MiB so no layer of the stack can deduplicate it.
                padding.write(hashlib.sha256(index.to_bytes(8, "big")).digest() + block[32:])
        return served.server.url(name)

    @keyword(tags=[QUERY])
    def get_artifact_checksum(self, path: str, server: str = "artifacts") -> str:
        """The ``sha256:<hex>`` checksum of a served file, as Nomad's artifact ``checksum`` option takes it."""
        return f"sha256:{sha256_of(self.library.servers.find(server).root / path)}"

    @keyword(tags=[LIFECYCLE])
    def set_artifact_fault(
        self,
        path: str,
        delay: timedelta = timedelta(0),
        bandwidth: int = 0,
        drop_after: int | None = None,
        fail_first: int = 0,
        fail_status: int = 503,
        wrong_content: str | None = None,
        server: str = "artifacts",
    ) -> None:
        """Make the server misbehave for ``path`` from now on; replaces an earlier fault of that path.

        - ``delay``: wait this long before answering
        - ``bandwidth``: send at most this many bytes per second
        - ``drop_after``: cut the connection after this many body bytes
        - ``fail_first``: answer the first N requests with ``fail_status``
        - ``wrong_content``: serve this text instead of the file

        | Set Artifact Fault    hello.jar    delay=30s
        | Set Artifact Fault    hello.jar    fail_first=2    fail_status=500
        """
        content = wrong_content.encode() if wrong_content is not None else None
        fault = Fault(delay.total_seconds(), bandwidth, drop_after, fail_first, fail_status, content)
        self.library.servers.find(server).server.set_fault(path, fault)

    @keyword(tags=[LIFECYCLE])
    def clear_artifact_faults(self, server: str = "artifacts") -> None:
        """Serve every path normally again."""
        self.library.servers.find(server).server.clear_faults()

    @keyword(tags=[QUERY])
    def get_artifact_requests(
        self, path: str | None = None, server: str = "artifacts", scope: str = "test"
    ) -> list[dict]:
        """The requests served (for ``path``, or all), oldest first, as dicts.

        Keys: ``path``, ``status`` (an int), ``bytes_sent``, ``complete``, ``duration`` (seconds). A
        client that hung up before the answer (as after its own timeout during a ``delay``) is
        recorded with status 499 and ``complete`` false. Requests still being answered are waited
        for, up to 5 seconds, so a check made as soon as Nomad has its download counts them.

        ``scope`` ``test`` (the default) gives the requests begun since the running test began, so
        a server shared by a suite's tests counts each test's own; outside a test, and with
        ``scope=all``, every request since the server started or was cleared (`Clear Artifact
        Requests`).

        | ${requests}=    Get Artifact Requests    hello.jar
        | ${everything}=    Get Artifact Requests    scope=all
        """
        return [as_dict(request) for request in self.library.servers.requests(server, path, scope)]

    @keyword(tags=[ASSERTION])
    def artifact_should_have_been_requested(
        self,
        path: str,
        times: int | None = None,
        status: int | None = None,
        server: str = "artifacts",
        scope: str = "test",
    ) -> None:
        """Fail unless ``path`` was requested (exactly ``times`` times, when given; with ``status``, when given).

        Counts the requests of the running test, or with ``scope=all`` every one (see `Get
        Artifact Requests`).

        | Artifact Should Have Been Requested    hello.jar    times=3
        """
        self.library.servers.check_requested(server, path, times, status, scope)

    @keyword(tags=[LIFECYCLE])
    def clear_artifact_requests(self, server: str = "artifacts") -> None:
        """Forget the requests the server recorded so far; its faults stay, and ``fail_first`` keeps counting.

        | Clear Artifact Requests
        """
        self.library.servers.find(server).server.clear_requests()

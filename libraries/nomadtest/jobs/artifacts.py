"""An HTTP artifact server on loopback with fault injection per path.

Nomad clients download task artifacts with go-getter; the faults here are the
ways real networks and servers let them down: a slow first byte, a thin pipe,
a connection cut mid-body, a few failing requests before a good one, and a
body that is not what the checksum promises.
"""

from __future__ import annotations

import hashlib
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from nomadtest.host import runroot
from nomadtest.listener import owned_by

CHUNK = 64 * 1024
# Recorded as the status of a request whose client hung up before the answer (nginx's convention).
CLIENT_CLOSED_REQUEST = 499
# Which requests a check counts: the running test's, or every one since the server started (or was cleared).
SCOPES = ("test", "all")


@dataclass
class Fault:
    """How the server misbehaves for one path; the defaults misbehave in no way."""

    delay: float = 0.0
    bandwidth: int = 0
    drop_after: int | None = None
    fail_first: int = 0
    fail_status: int = HTTPStatus.SERVICE_UNAVAILABLE
    wrong_content: bytes | None = None


@dataclass
class ServedRequest:
    """One request as the server saw it and answered it."""

    path: str
    status: int
    bytes_sent: int
    complete: bool
    started: float
    duration: float


@dataclass
class _PathState:
    fault: Fault = field(default_factory=Fault)
    requests: int = 0


class ArtifactHTTPServer:
    """Serves files under ``root`` (and files added later) on 127.0.0.1."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = root.resolve()
        self._lock = threading.Condition()
        self._in_flight: dict[str, int] = {}
        self._paths: dict[str, _PathState] = {}
        self._log: list[ServedRequest] = []
        self._httpd = _QuietHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="artifact-server", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def set_fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self._paths[_normalise(path)] = _PathState(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._paths.clear()

    def requests(self, path: str | None = None, settle: float = 5.0, since: float | None = None) -> list[ServedRequest]:
        """The requests answered (for ``path``, or all; those begun at ``since`` or later), oldest first.

        A request is recorded once its answer is written, which can be just after the client has
        read it: requests still being answered are waited for, up to ``settle`` seconds, so that a
        check made as soon as the client is done sees them. ``since`` is a ``time.monotonic()``.
        """
        wanted = None if path is None else _normalise(path)

        def settled() -> bool:
            return not any(count for name, count in self._in_flight.items() if wanted in (None, name))

        with self._lock:
            self._lock.wait_for(settled, timeout=settle)
            return [
                r for r in self._log if (wanted is None or r.path == wanted) and (since is None or r.started >= since)
            ]

    def clear_requests(self, settle: float = 5.0) -> None:
        """Forget the requests answered so far; faults, and their count of requests, stay.

        Requests still being answered (their client may already have the answer) are waited for,
        up to ``settle`` seconds, and forgotten too: none of them may count after the clear.
        """
        with self._lock:
            self._lock.wait_for(lambda: not any(self._in_flight.values()), timeout=settle)
            self._log.clear()

    def _next_request(self, path: str) -> tuple[Fault, int]:
        with self._lock:
            state = self._paths.setdefault(path, _PathState())
            state.requests += 1
            self._in_flight[path] = self._in_flight.get(path, 0) + 1
            return state.fault, state.requests

    def _record(self, served: ServedRequest) -> None:
        # One type for every status: HTTPStatus members for answers, a plain int for hang-ups.
        served.status = int(served.status)
        with self._lock:
            self._log.append(served)
            self._in_flight[served.path] -= 1
            self._lock.notify_all()

    def _file(self, path: str) -> Path | None:
        candidate = (self.root / path).resolve()
        if candidate.is_relative_to(self.root) and candidate.is_file():
            return candidate
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                self._serve(send_body=False)

            def do_GET(self) -> None:
                self._serve(send_body=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Requests are recorded by the server, not printed."""

            def _serve(self, send_body: bool) -> None:
                started = time.monotonic()
                path = _normalise(urlsplit(self.path).path)
                fault, number = server._next_request(path)
                status, sent, complete = HTTPStatus.INTERNAL_SERVER_ERROR, 0, False
                try:
                    status, sent, complete = self._answer(path, fault, number, send_body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up while the answer was being written.
                    self.close_connection = True
                    status, sent, complete = CLIENT_CLOSED_REQUEST, 0, False
                finally:
                    # Always, so that nobody waits for this request to settle.
                    server._record(ServedRequest(path, status, sent, complete, started, time.monotonic() - started))

            def _client_gone(self) -> bool:
                """Whether the client closed the connection (as after its own timeout) without waiting."""
                readable, _, _ = select.select([self.connection], [], [], 0)
                try:
                    return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _answer(self, path: str, fault: Fault, number: int, send_body: bool) -> tuple[int, int, bool]:
                if fault.delay:
                    time.sleep(fault.delay)
                    if self._client_gone():
                        self.close_connection = True
                        return CLIENT_CLOSED_REQUEST, 0, False
                if number <= fault.fail_first:
                    self._send_error(fault.fail_status)
                    return fault.fail_status, 0, True
                file = server._file(path)
                if file is None:
                    self._send_error(HTTPStatus.NOT_FOUND)
                    return HTTPStatus.NOT_FOUND, 0, True
                size = len(fault.wrong_content) if fault.wrong_content is not None else file.stat().st_size
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if not send_body:
                    return HTTPStatus.OK, 0, True
                return HTTPStatus.OK, *self._send_body(file, fault, size)

            def _send_body(self, file: Path, fault: Fault, size: int) -> tuple[int, bool]:
                limit = size if fault.drop_after is None else min(size, fault.drop_after)
                sent = 0
                try:
                    with file.open("rb") as source:
                        while sent < limit:
                            if fault.wrong_content is not None:
                                chunk = fault.wrong_content[sent : sent + min(CHUNK, limit - sent)]
                            else:
                                chunk = source.read(min(CHUNK, limit - sent))
                            if not chunk:
                                break
                            self.wfile.write(chunk)
                            sent += len(chunk)
                            if fault.bandwidth:
                                time.sleep(len(chunk) / fault.bandwidth)
                except (BrokenPipeError, ConnectionResetError):
                    return sent, False
                if sent < size:
                    # Cut the connection mid-body, as a failing network would.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return sent, False
                return sent, True

            def _send_error(self, status: int) -> None:
                body = f"{status} {HTTPStatus(status).phrase}\n".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


class _QuietHTTPServer(ThreadingHTTPServer):
    """Clients that hang up (a download timeout, a dropped connection) are expected here, not errors."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _normalise(path: str) -> str:
    return unquote(path).lstrip("/")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_into(root: Path, source: Path, name: str | None = None) -> Path:
    """Copy ``source`` into the served tree as ``name`` (default: its own name)."""
    target = root / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


@dataclass
class Served:
    """One running artifact server, the directory it serves and who owns it."""

    name: str
    server: ArtifactHTTPServer
    root: Path
    owner: str


class ArtifactServers:
    """The artifact servers of this run, each serving a copy of the test JARs under the run root."""

    def __init__(self) -> None:
        self._servers: list[Served] = []
        # When the running test began (time.monotonic()); None outside tests.
        self.test_began: float | None = None

    def start(self, name: str, port: int, jars_dir: Path, owner: str) -> Served:
        if any(served.name == name for served in self._servers):
            raise RuntimeError(f"An artifact server named '{name}' is already running.")
        parent = runroot.run_root() / runroot.ARTIFACTS_DIR
        parent.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
        try:
            if jars_dir.is_dir():
                shutil.copytree(jars_dir, root, dirs_exist_ok=True)
            server = ArtifactHTTPServer(root, port)
            server.start()
        except OSError as error:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(
                f"Artifact server '{name}' could not start serving {jars_dir} from {root}: {error}"
            ) from None
        served = Served(name, server, root, owner)
        self._servers.append(served)
        return served

    def stop(self, name: str) -> None:
        served = self.find(name)
        self._servers.remove(served)
        served.server.stop()
        shutil.rmtree(served.root, ignore_errors=True)

    def find(self, name: str) -> Served:
        for served in self._servers:
            if served.name == name:
                return served
        running = ", ".join(s.name for s in self._servers) or "none"
        raise RuntimeError(f"No artifact server named '{name}' (running: {running}); start one first.")

    def requests(self, name: str, path: str | None, scope: str) -> list[ServedRequest]:
        """The requests of server ``name`` (for ``path``) in ``scope``: the running test's, or ``all``."""
        if scope not in SCOPES:
            raise ValueError(f"Request scope must be one of {', '.join(SCOPES)}, not '{scope}'.")
        return self.find(name).server.requests(path, since=self.test_began if scope == "test" else None)

    def check_requested(self, name: str, path: str, times: int | None, status: int | None, scope: str) -> None:
        """Fail unless ``path`` was requested in ``scope`` (``times`` times, with ``status``, when given)."""
        requests = self.requests(name, path, scope)
        matching = [r for r in requests if status is None or r.status == status]
        seen = ", ".join(f"{r.status} ({r.bytes_sent} bytes)" for r in requests) or "none"
        if (times is None and not matching) or (times is not None and len(matching) != times):
            wanted = f"{times} time(s)" if times is not None else "at least once"
            with_status = f" with status {status}" if status is not None else ""
            raise AssertionError(f"Expected {path} to be requested {wanted}{with_status}; requests seen: {seen}.")

    def release(self, owner: str | None, keep: bool = False) -> tuple[list[str], list[str]]:
        """Stop what ``owner`` (None: anybody) started. Leaving a server to this is normal use: nothing is reported."""
        for served in [s for s in self._servers if owner is None or owned_by(owner, s.owner)]:
            self.stop(served.name)
        return [], []


def as_dict(request: ServedRequest) -> dict:
    return {
        "path": request.path,
        "status": request.status,
        "bytes_sent": request.bytes_sent,
        "complete": request.complete,
        "duration": round(request.duration, 3),
    }


class RequestScope:
    """Library listener noting when each test begins, so request checks can count that test's requests only."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, servers: ArtifactServers) -> None:
        self._servers = servers

    def start_test(self, data, result) -> None:
        self._servers.test_began = time.monotonic()

    def end_test(self, data, result) -> None:
        self._servers.test_began = None

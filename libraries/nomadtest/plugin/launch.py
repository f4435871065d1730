"""Starting a driver plugin binary as the Nomad client does: go-plugin's handshake, then its socket.

The client runs the binary with Nomad's magic cookie in its environment and the plugin protocol
versions it speaks; the plugin answers with one line on stdout, ``CORE|APP|NETWORK|ADDRESS|PROTOCOL``
(go-plugin core protocol 1, Nomad's plugin protocol 2, a unix socket, ``grpc``), and logs to stderr.
A binary started without the cookie refuses to serve; one that prints anything else, or nothing
within the timeout, is no Nomad plugin, and the error says what it did print.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from nomadtest.waiting import Deadline

MAGIC_COOKIE_KEY = "NOMAD_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"
CORE_PROTOCOL_VERSION = 1
NOMAD_PROTOCOL_VERSION = 2
# go-plugin's port range for plugins that listen on TCP; Nomad's client sets the same.
PORT_RANGE = {"PLUGIN_MIN_PORT": "10000", "PLUGIN_MAX_PORT": "25000"}


class PluginStartError(RuntimeError):
    """The binary could not be started as a Nomad plugin; the message says what it did instead."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class Handshake:
    core_version: int
    app_version: int
    network: str
    address: str
    protocol: str

    @property
    def target(self) -> str:
        """The gRPC target to dial."""
        return f"unix:{self.address}" if self.network == "unix" else self.address


def parse_handshake(line: str) -> Handshake:
    """The plugin's handshake line, checked as Nomad's client checks it."""
    parts = line.strip().split("|")
    if len(parts) < 4:
        raise PluginStartError(
            f"The plugin's first line of output is not a go-plugin handshake "
            f"(CORE|APP|NETWORK|ADDRESS|PROTOCOL): {line.strip()!r}."
        )
    try:
        core, app = int(parts[0]), int(parts[1])
    except ValueError:
        raise PluginStartError(f"The plugin's handshake has no protocol versions: {line.strip()!r}.") from None
    if core != CORE_PROTOCOL_VERSION:
        raise PluginStartError(
            f"The plugin speaks go-plugin core protocol {core}, not {CORE_PROTOCOL_VERSION}: {line.strip()!r}."
        )
    if app != NOMAD_PROTOCOL_VERSION:
        raise PluginStartError(
            f"The plugin speaks plugin protocol {app}; Nomad's drivers speak {NOMAD_PROTOCOL_VERSION}: "
            f"{line.strip()!r}."
        )
    network, address = parts[2], parts[3]
    if network not in ("unix", "tcp"):
        raise PluginStartError(f"The plugin listens on network {network!r}, neither unix nor tcp: {line.strip()!r}.")
    # go-plugin plugins older than gRPC support name no protocol: they speak net/rpc, which Nomad refuses.
    protocol = parts[4] if len(parts) > 4 and parts[4] else "netrpc"
    if protocol != "grpc":
        raise PluginStartError(
            f"The plugin serves {protocol}; Nomad's drivers are gRPC plugins (go-plugin GRPCServer): {line.strip()!r}."
        )
    return Handshake(core, app, network, address, protocol)


def plugin_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the Nomad client adds to its own environment when it starts a plugin."""
    return {
        **os.environ,
        **(extra or {}),
        MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE,
        "PLUGIN_PROTOCOL_VERSIONS": str(NOMAD_PROTOCOL_VERSION),
        **PORT_RANGE,
    }


@dataclass
class PluginProcess:
    """A running plugin binary: its process, handshake and log."""

    binary: Path
    process: subprocess.Popen
    handshake: Handshake
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self, grace: float = 10.0) -> int | None:
        """SIGKILL, then the exit status once it is gone (None when it would not go)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        try:
            return self.process.wait(grace)
        except subprocess.TimeoutExpired:
            return None

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def start(binary: Path, workdir: Path, deadline: Deadline, environment: dict[str, str] | None = None) -> PluginProcess:
    """Starts ``binary`` as the Nomad client does and reads its handshake; its stderr goes to ``plugin.log``."""
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise PluginStartError(f"The driver plugin {binary} is not an executable file.")
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "plugin.log"
    with log_path.open("ab") as log:
        # A session of its own: a Ctrl-C of robot reaches the plugin only through robot's teardowns.
        process = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=plugin_environment(environment),
            cwd=workdir,
            start_new_session=True,
        )
    first = _first_line(process, deadline)
    try:
        handshake = parse_handshake(first) if first else None
    except PluginStartError:
        _stop(process)
        raise
    if handshake is None:
        status = _stop(process)
        ended = f"exited with status {status}" if status is not None else f"printed nothing within {deadline}"
        raise PluginStartError(
            f"The driver plugin {binary} {ended} instead of a go-plugin handshake. Its log ({log_path}):\n"
            + _tail(log_path)
        )
    # go-plugin relays later stdout lines to the client's log; nobody reads them here, so they are dropped.
    threading.Thread(target=_drain, args=(process,), daemon=True).start()
    return PluginProcess(binary, process, handshake, log_path)


def _first_line(process: subprocess.Popen, deadline: Deadline) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline().decode(errors="replace")))
    reader.daemon = True
    reader.start()
    reader.join(deadline.remaining())
    return found[0] if found else ""


def _drain(process: subprocess.Popen) -> None:
    with contextlib.suppress(OSError, ValueError):
        while process.stdout.read(65536):
            pass


def _stop(process: subprocess.Popen) -> int | None:
    if process.poll() is None:
        process.kill()
    try:
        return process.wait(10)
    except subprocess.TimeoutExpired:
        return None


def read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as error:
        return f"(unreadable: {error})"


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(read_log(path).splitlines()[-lines:]) or "(empty)"

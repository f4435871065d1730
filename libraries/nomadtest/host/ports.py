"""Free loopback ports for agents, and telling a lost port race from other start failures.

A port is only known to be free at the moment it is probed: another pabot worker
or an outgoing connection can take it before Nomad binds it. Ports are therefore
drawn at random below the kernel's ephemeral range (where outgoing connections
get theirs), never reused while one of our agents holds them, and a start that
lost the race is recognised from the agent log so the caller can retry.
"""

from __future__ import annotations

import random
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
LOWEST_PORT = 10000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Go's net package says "listen tcp 127.0.0.1:4646: bind: address already in use";
# memberlist and raft wrap that text in their own errors.
_CONFLICT = re.compile(r"address already in use|\bbind: ", re.I)


@dataclass(frozen=True)
class AgentPorts:
    """The three ports one ``nomad agent`` listens on."""

    http: int
    rpc: int
    serf: int

    def __iter__(self):
        return iter((self.http, self.rpc, self.serf))


class PortConflictError(Exception):
    """The agent exited because one of its ports was taken after it was picked."""


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = _EPHEMERAL_RANGE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def candidate_range() -> range:
    """Ports we pick from: those below the ephemeral range, or above it when it starts low."""
    low, high = ephemeral_range()
    if low - LOWEST_PORT >= 1000:
        return range(LOWEST_PORT, low)
    return range(high + 1, 65536)


def is_free(port: int, host: str = HOST) -> bool:
    """True when ``port`` can be bound on ``host`` for TCP and UDP (Serf uses both).

    SO_REUSEADDR is set like Go's listeners do, so connections lingering in
    TIME_WAIT after an agent stopped do not count as the port being taken.
    """
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def pick_ports(count: int, exclude: Iterable[int] = (), rng: random.Random | None = None) -> list[int]:
    """``count`` distinct free ports, none of them in ``exclude``."""
    rng = rng or random.SystemRandom()
    pool = candidate_range()
    taken = set(exclude)
    picked: list[int] = []
    for _ in range(count * 200):
        port = rng.choice(pool)
        if port in taken:
            continue
        taken.add(port)
        if is_free(port):
            picked.append(port)
            if len(picked) == count:
                return picked
    raise RuntimeError(f"Could not find {count} free ports in {pool.start}-{pool.stop - 1} on {HOST}.")


def pick_agent_ports(exclude: Iterable[int] = (), rng: random.Random | None = None) -> AgentPorts:
    return AgentPorts(*pick_ports(3, exclude, rng))


def is_port_conflict(log_text: str) -> bool:
    """True when an agent log tells that a listener could not bind its address."""
    return bool(_CONFLICT.search(log_text))


def busy_ports(ports: Iterable[int], host: str = HOST) -> list[int]:
    return [port for port in ports if not is_free(port, host)]


def check_port(name: str, port: int | str) -> int:
    """``port`` as a number a socket can bind, else a ValueError naming the setting."""
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise ValueError(f"Port '{name}' must be a number, not {port!r}.") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"Port '{name}' must be between 1 and 65535, not {number}.")
    return number

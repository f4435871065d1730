"""Test hosts in network namespaces: one bridge per cluster, one namespace per client agent, veth pairs between.

Each cluster gets a slice of the test subnet (``198.18.0.0/24`` by default, the range reserved for
network tests): the host side of the bridge takes the slice's first address (the servers bind it),
each namespace the next ones. Namespaces have no default route and nothing does NAT, so their
traffic reaches only the cluster's own hosts.

Linux interface names have at most 15 characters, so every name is ``ne2e<id>`` plus a suffix, where
``<id>`` is random per cluster; the bridge's alias records the owning process. A cluster's
:class:`Network` goes into the owner's state file before anything is created, so the crash sweep
removes what a killed run left, and the ``ne2e`` prefix lets the leftover checks count strays.

Processes join a namespace with ``nsenter --net``, not ``ip netns exec``: the latter also gives
them a mount namespace of their own with a fresh ``/sys``, which hides the cgroup mounts from Nomad
and the driver, and the mounts Nomad makes from the cleanup that runs in the host's namespace.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import math
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from nomadtest.host import processes

PREFIX = "ne2e"
DEFAULT_SUBNET = "198.18.0.0/24"
NETNS_DIR = Path("/run/netns")
# The veth end inside each namespace: a namespace has interfaces of its own, so one name serves all.
INTERFACE = "eth0"
IP_TIMEOUT = 10
MAX_NAME = 15
# Host-wide, whatever the run root: slices and strays are host-wide too.
LOCK_PATH = Path("/run/lock/nomad-e2e-netns.lock")


class NetworkError(AssertionError):
    """A test network could not be created or changed; the message says what ``ip`` answered."""

    ROBOT_SUPPRESS_NAME = True


@dataclass
class Host:
    """One network namespace joined to the cluster's bridge."""

    namespace: str
    veth: str  # the host end, a port of the bridge
    address: str
    interface: str = INTERFACE


@dataclass
class Network:
    """A cluster's bridge, its slice of the subnet and its namespaces; survives its owner in the state file."""

    cluster: str
    bridge: str
    subnet: str
    gateway: str
    hosts: list[Host] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> Network:
        hosts = [Host(**host) for host in data.get("hosts", [])]
        return cls(**{**data, "hosts": hosts})

    def as_dict(self) -> dict:
        return asdict(self)

    def host(self, namespace: str) -> Host:
        for host in self.hosts:
            if host.namespace == namespace:
                return host
        raise KeyError(namespace)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``ip <args>``; a failure raises :class:`NetworkError` with ip's message."""
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NetworkError(f"`ip {' '.join(args)}` could not run: {error}") from None
    if check and done.returncode != 0:
        raise NetworkError(f"`ip {' '.join(args)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def join_command(namespace: str) -> list[str]:
    """The argv prefix that runs a command in ``namespace``'s network, and only there (see the module doc)."""
    return ["nsenter", f"--net={NETNS_DIR / namespace}"]


def slice_prefix(hosts: int) -> int:
    """The longest prefix whose subnet holds the bridge address and ``hosts`` namespaces."""
    needed = hosts + 3  # network, broadcast and bridge addresses
    return 32 - max(2, math.ceil(math.log2(needed)))


def used_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of every address on the host's interfaces."""
    listed = json.loads(ip("-j", "-4", "addr", "show").stdout or "[]")
    return [
        ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}").network
        for link in listed
        for info in link.get("addr_info", [])
        if info.get("family") == "inet"
    ]


def free_slice(subnet: str, hosts: int, used: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """The first slice of ``subnet`` large enough for ``hosts`` that overlaps no network in ``used``."""
    network = ipaddress.ip_network(subnet)
    prefix = slice_prefix(hosts)
    if prefix < network.prefixlen:
        raise NetworkError(f"The test subnet {subnet} is too small for {hosts} namespaces and a bridge.")
    for candidate in network.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(other) for other in used):
            return candidate
    raise NetworkError(
        f"No free /{prefix} is left in the test subnet {subnet}: every slice is on an interface already "
        f"({', '.join(str(other) for other in used if other.overlaps(network))}). Stop other clusters, "
        "let the next run sweep dead ones, or give a larger subnet."
    )


def plan(cluster: str, names: list[str], slice_: ipaddress.IPv4Network, token: str | None = None) -> Network:
    """Names and addresses of a cluster's network, one namespace per name in ``names``; creates nothing."""
    token = token or secrets.token_hex(3)
    addresses = list(slice_.hosts())
    bridge = f"{PREFIX}{token}"
    hosts = [
        Host(namespace=f"{PREFIX}{token}-{index}", veth=f"{PREFIX}{token}-{index}", address=str(address))
        for index, (_, address) in enumerate(zip(names, addresses[1:], strict=False), start=1)
    ]
    for name in [bridge, *(host.veth for host in hosts)]:
        if len(name) > MAX_NAME:
            raise NetworkError(f"Interface name {name!r} is longer than Linux's {MAX_NAME} characters.")
    return Network(cluster=cluster, bridge=bridge, subnet=str(slice_), gateway=str(addresses[0]), hosts=hosts)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def reserve(cluster: str, names: list[str], subnet: str, record: Callable[[Network], None]) -> Network:
    """Plan a network in a free slice, ``record`` it (the state file) and create its bridge.

    The slice is chosen and its bridge address assigned under a host-wide lock, so concurrent runs
    never take the same slice: an address on an interface is what marks a slice as taken.
    """
    with _locked():
        network = plan(cluster, names, free_slice(subnet, len(names), used_networks()))
        record(network)
        prefix = ipaddress.ip_network(network.subnet).prefixlen
        ip("link", "add", network.bridge, "type", "bridge")
        ip("link", "set", network.bridge, "alias", f"nomad-e2e owner pid {os.getpid()} cluster {cluster}")
        ip("addr", "add", f"{network.gateway}/{prefix}", "dev", network.bridge)
    ip("link", "set", network.bridge, "up")
    return network


def add_host(network: Network, host: Host) -> None:
    """Create ``host``'s namespace with loopback up and its veth pair on the bridge; no default route."""
    prefix = ipaddress.ip_network(network.subnet).prefixlen
    ip("netns", "add", host.namespace)
    ip("link", "add", host.veth, "type", "veth", "peer", "name", host.interface, "netns", host.namespace)
    ip("link", "set", host.veth, "master", network.bridge, "up")
    ip("-n", host.namespace, "addr", "add", f"{host.address}/{prefix}", "dev", host.interface)
    ip("-n", host.namespace, "link", "set", host.interface, "up")
    ip("-n", host.namespace, "link", "set", "lo", "up")


def set_connected(host: Host, connected: bool) -> None:
    """Cut the host off its bridge (the host end of its veth down) or connect it again.

    Inside the namespace nothing changes: addresses and routes stay, packets just go nowhere,
    as when a cable is pulled out of a switch.
    """
    ip("link", "set", host.veth, "up" if connected else "down")


def is_connected(host: Host) -> bool:
    listed = json.loads(ip("-j", "link", "show", host.veth).stdout or "[]")
    return bool(listed) and "UP" in listed[0].get("flags", [])


def namespaces() -> list[str]:
    """Network namespaces named with this module's prefix."""
    try:
        return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith(PREFIX))
    except FileNotFoundError:
        return []


def links() -> list[str]:
    """Host interfaces (bridges, veth ends) named with this module's prefix."""
    listed = json.loads(ip("-j", "link", "show", check=False).stdout or "[]")
    return sorted(link["ifname"] for link in listed if link.get("ifname", "").startswith(PREFIX))


def remove(network: Network) -> list[str]:
    """Delete the network's namespaces (their veth pairs go with them) and its bridge; returns what stayed.

    A process still in a namespace keeps it alive after ``ip netns del``: such processes are
    killed first, found by the namespace they are in.
    """
    problems: list[str] = []
    for host in network.hosts:
        if host.namespace and (NETNS_DIR / host.namespace).exists():
            survivors = kill_members(host.namespace)
            problems += [f"process survived SIGKILL in namespace {host.namespace}: {pid}" for pid in survivors]
            done = ip("netns", "del", host.namespace, check=False)
            if done.returncode != 0:
                problems.append(f"network namespace {host.namespace} not removed: {done.stderr.strip()}")
        if _link_exists(host.veth):
            ip("link", "del", host.veth, check=False)
    if _link_exists(network.bridge):
        ip("link", "del", network.bridge, check=False)
    left = set(links())
    problems += [
        f"link {name} not removed" for name in [network.bridge, *(h.veth for h in network.hosts)] if name in left
    ]
    return problems


def members(namespace: str) -> list[int]:
    """Pids of the processes whose network namespace is ``namespace``."""
    try:
        target = os.stat(NETNS_DIR / namespace)
    except FileNotFoundError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            mine = os.stat(entry / "ns" / "net")
            if (mine.st_dev, mine.st_ino) == (target.st_dev, target.st_ino):
                found.append(int(entry.name))
    return found


def kill_members(namespace: str) -> list[int]:
    """SIGKILL every process in ``namespace``; returns the pids that survived."""
    targets = []
    for pid in members(namespace):
        with contextlib.suppress(psutil.Error):
            targets.append(psutil.Process(pid))
    if not targets:
        return []
    for process in targets:
        with contextlib.suppress(psutil.Error):
            process.kill()
    _, alive = psutil.wait_procs(targets, timeout=3)
    return [process.pid for process in alive if processes.is_alive(process.pid)]


def _link_exists(name: str) -> bool:
    return ip("link", "show", name, check=False).returncode == 0


def owner_of(bridge: str) -> int | None:
    """The pid recorded in a bridge's alias by :func:`reserve`."""
    listed = json.loads(ip("-j", "link", "show", bridge, check=False).stdout or "[]")
    words = (listed[0].get("ifalias", "") if listed else "").split()
    if words[:3] == ["nomad-e2e", "owner", "pid"] and len(words) > 3 and words[3].isdigit():
        return int(words[3])
    return None


def sweep_strays() -> list[str]:
    """Remove the networks whose owner process is gone, found by name alone (their state file was lost).

    Under the lock :func:`reserve` holds while it names a new bridge's owner.
    """
    report = []
    with _locked():
        for network in strays():
            problems = remove(network)
            report.append(f"Stray test network {network.bridge}: {'; '.join(problems) or 'removed'}")
    return report


def strays() -> list[Network]:
    """Networks whose owner process is gone, going by the bridge's alias."""
    found = []
    for bridge in links():
        if "-" in bridge:
            continue  # a veth end
        owner = owner_of(bridge)
        if owner is not None and processes.is_alive(owner):
            continue
        own = [name for name in namespaces() if name.startswith(f"{bridge}-")]
        hosts = [Host(namespace=name, veth=name, address="") for name in own]
        hosts += [Host(namespace="", veth=name, address="") for name in links() if name.startswith(f"{bridge}-")]
        found.append(Network(cluster="", bridge=bridge, subnet="", gateway="", hosts=hosts))
    return found

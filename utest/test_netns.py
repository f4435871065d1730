"""Test networks for multi-node clusters: slices of the subnet, names, state records and the real thing as root."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess

import psutil
import pytest
from conftest import needs_root

from nomadtest.host import leaks, netns, sweep


def test_a_slice_holds_the_bridge_and_every_namespace():
    assert netns.slice_prefix(1) == 30
    assert netns.slice_prefix(3) == 29
    assert netns.slice_prefix(5) == 29
    assert netns.slice_prefix(6) == 28
    for hosts in range(1, 40):
        usable = ipaddress.ip_network(f"198.18.0.0/{netns.slice_prefix(hosts)}").num_addresses - 2
        assert usable >= hosts + 1


def test_the_first_slice_that_overlaps_no_interface_is_taken():
    used = [
        ipaddress.ip_network("198.18.0.0/29"),
        ipaddress.ip_network("198.18.0.16/28"),
        ipaddress.ip_network("10.0.0.0/8"),
    ]
    assert netns.free_slice("198.18.0.0/24", 3, used) == ipaddress.ip_network("198.18.0.8/29")
    # A larger cluster needs a /28, and the first free one comes after the taken /28.
    assert netns.free_slice("198.18.0.0/24", 6, used) == ipaddress.ip_network("198.18.0.32/28")


def test_a_full_or_too_small_subnet_is_refused_with_what_holds_it():
    with pytest.raises(netns.NetworkError, match=r"No free /29 is left in the test subnet 198\.18\.0\.0/28.*198\.18"):
        netns.free_slice("198.18.0.0/28", 3, [ipaddress.ip_network("198.18.0.0/25")])
    with pytest.raises(netns.NetworkError, match="too small for 20 namespaces"):
        netns.free_slice("198.18.0.0/28", 20, [])


def test_a_plan_names_everything_within_linux_limits_and_numbers_hosts_after_the_gateway():
    network = netns.plan("c", ["client-1", "client-2", "client-3"], ipaddress.ip_network("198.18.0.8/29"), "a1b2c3")
    assert network.bridge == "ne2ea1b2c3"
    assert network.gateway == "198.18.0.9"
    assert [host.address for host in network.hosts] == ["198.18.0.10", "198.18.0.11", "198.18.0.12"]
    assert [host.namespace for host in network.hosts] == ["ne2ea1b2c3-1", "ne2ea1b2c3-2", "ne2ea1b2c3-3"]
    assert all(len(name) <= netns.MAX_NAME for name in [network.bridge, *(host.veth for host in network.hosts)])
    assert netns.Network.from_dict(json.loads(json.dumps(network.as_dict()))) == network


def test_the_bridge_alias_names_its_owner(monkeypatch):
    answers = {
        "ne2eaaaaaa": [{"ifname": "ne2eaaaaaa", "ifalias": "nomad-e2e owner pid 4242 cluster c"}],
        "ne2ebbbbbb": [{"ifname": "ne2ebbbbbb"}],
    }

    def fake_ip(*args, check=True):
        return subprocess.CompletedProcess(args, 0, json.dumps(answers.get(args[-1], [])), "")

    monkeypatch.setattr(netns, "ip", fake_ip)
    assert netns.owner_of("ne2eaaaaaa") == 4242
    assert netns.owner_of("ne2ebbbbbb") is None


def test_the_state_file_keeps_networks_and_the_sweep_removes_those_of_dead_owners(tmp_path, monkeypatch):
    removed = []
    monkeypatch.setattr(netns, "remove", lambda network: removed.append(network.bridge) or [])
    monkeypatch.setattr(netns, "sweep_strays", lambda: [])
    network = netns.plan("c", ["client-1"], ipaddress.ip_network("198.18.0.0/30"), "dddddd")
    state = sweep.StateFile(tmp_path)
    state.write([], [network.as_dict()])  # a network alone keeps the file
    content = json.loads(state.path.read_text())
    assert content["agents"] == [] and content["networks"] == [network.as_dict()]
    dead = psutil.Popen(["true"])
    created = dead.create_time()
    dead.wait()
    content.update(pid=dead.pid, create_time=created)
    (tmp_path / "state" / f"{dead.pid}.json").write_text(json.dumps(content))

    report = sweep.sweep(tmp_path)

    assert removed == ["ne2edddddd"]
    assert report == [f"Test network ne2edddddd of dead process {dead.pid}: removed"]
    assert state.path.exists()  # this process's own record is left alone


@needs_root
@pytest.mark.skipif(not (shutil.which("ip") and shutil.which("nsenter")), reason="needs ip and nsenter")
def test_a_real_network_connects_namespaces_cuts_one_off_and_leaves_nothing(spawn):
    recorded = []
    network = netns.reserve("utest", ["a", "b"], netns.DEFAULT_SUBNET, recorded.append)
    try:
        assert recorded == [network]
        for host in network.hosts:
            netns.add_host(network, host)
        first, second = network.hosts
        routes = subprocess.run(["ip", "-n", first.namespace, "route"], capture_output=True, text=True).stdout
        assert "default" not in routes
        listener = spawn([*netns.join_command(second.namespace), "python3", "-c", LISTEN, second.address])
        assert _connects(first, second.address)
        netns.set_connected(second, False)
        assert not netns.is_connected(second)
        assert not _connects(first, second.address)
        netns.set_connected(second, True)
        assert netns.is_connected(second)
        assert netns.members(second.namespace) == [listener.pid]
    finally:
        problems = netns.remove(network)
    assert problems == []
    assert not set(netns.namespaces()) & {host.namespace for host in network.hosts}
    assert not set(netns.links()) & {network.bridge, *(host.veth for host in network.hosts)}
    assert listener.wait(5) is not None  # the process in a namespace was killed with it


LISTEN = """
import socket, sys
server = socket.create_server((sys.argv[1], 4000))
while True:
    server.accept()[0].close()
"""


def _connects(host: netns.Host, address: str) -> bool:
    probe = (
        "import socket, sys, time\n"
        "end = time.time() + 2\n"
        "while True:\n"
        "    try:\n"
        "        socket.create_connection((sys.argv[1], 4000), timeout=0.5).close(); sys.exit(0)\n"
        "    except OSError:\n"
        "        if time.time() > end: sys.exit(1)\n"
        "        time.sleep(0.1)\n"
    )
    done = subprocess.run([*netns.join_command(host.namespace), "python3", "-c", probe, address], timeout=10)
    return done.returncode == 0


def test_a_namespace_counts_as_a_leftover_only_once_its_agent_is_gone(tmp_path, monkeypatch):
    monkeypatch.setattr(netns, "NETNS_DIR", tmp_path)
    (tmp_path / "ne2eaaaaaa-1").touch()
    scope = leaks.Scope("client-1", str(tmp_path / "run"), netns="ne2eaaaaaa-1")
    assert leaks.take_snapshot([scope], {"client-1": 4242})["networks"] == []
    assert leaks.take_snapshot([scope], {})["networks"] == ["client-1: network namespace ne2eaaaaaa-1"]

"""What a cluster start is asked for, checked before anything starts (nomadtest.agents.clusters)."""

from __future__ import annotations

import pytest

from nomadtest.agents import clusters


class NothingMayStart:
    """A manager that fails the test if a start gets as far as preparing agents."""

    def prepare(self) -> None:
        raise AssertionError("the request should have been refused first")


def test_clients_without_settings_get_empty_ones():
    request = clusters.ClusterRequest(servers=1, clients=3, client_config=[{"node_class": "big"}])
    assert request.per_client() == [{"node_class": "big"}, {}, {}]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            clusters.ClusterRequest(servers=0, network="loopback"),
            "A cluster needs at least one server and no negative count of clients, not 0/1.",
        ),
        (
            clusters.ClusterRequest(clients=-1, network="loopback"),
            "A cluster needs at least one server and no negative count of clients, not 3/-1.",
        ),
        (
            clusters.ClusterRequest(clients=1, client_config=[{}, {}], network="loopback"),
            "client_config has 2 entries for 1 client(s).",
        ),
    ],
)
def test_a_wrong_request_is_refused_before_any_agent_starts(request_, message):
    with pytest.raises(ValueError) as raised:
        clusters.start_cluster(NothingMayStart(), request_, 5)
    assert str(raised.value) == message


def test_names_carry_the_cluster_name_as_prefix():
    assert clusters.ClusterRequest(servers=2, clients=1).agent_names() == (["server-1", "server-2"], ["client-1"])
    named = clusters.ClusterRequest(servers=1, clients=2, name="small")
    assert named.agent_names() == (["small-server-1"], ["small-client-1", "small-client-2"])


def test_named_arguments_override_config_for_every_agent():
    request = clusters.ClusterRequest(config={"log_level": "DEBUG", "datacenter": "a"}, overrides={"datacenter": "b"})
    assert request.every_agent() == {"log_level": "DEBUG", "datacenter": "b"}


def test_network_modes(monkeypatch):
    with pytest.raises(ValueError) as raised:
        clusters.network_mode("bridge")
    assert str(raised.value) == "network must be one of isolated, loopback, not 'bridge'."
    monkeypatch.setattr(clusters.os, "geteuid", lambda: 1000)
    assert clusters.network_mode("") == "loopback"
    assert clusters.network_mode("loopback") == "loopback"
    monkeypatch.setattr(clusters.shutil, "which", lambda tool: f"/usr/sbin/{tool}")
    with pytest.raises(ValueError) as raised:
        clusters.network_mode("isolated")
    assert str(raised.value) == "network=isolated cannot be used: it needs root. Use network=loopback."
    monkeypatch.setattr(clusters.os, "geteuid", lambda: 0)
    assert clusters.network_mode("") == "isolated"
    monkeypatch.setattr(clusters.shutil, "which", lambda tool: None if tool == "nsenter" else f"/usr/sbin/{tool}")
    assert clusters.network_mode("") == "loopback"
    with pytest.raises(ValueError, match=r"^network=isolated cannot be used: nsenter not found"):
        clusters.network_mode("isolated")


def test_a_node_is_described_by_what_the_keywords_document():
    node = {
        "Name": "client-1",
        "ID": "n1",
        "Attributes": {"unique.network.ip-address": "198.18.0.2"},
        "Status": "ready",
        "SchedulingEligibility": "ineligible",
        "DrainStrategy": {"Deadline": 1},
        "NodeClass": "big",
    }
    assert clusters.describe_node(node) == {
        "name": "client-1",
        "id": "n1",
        "address": "198.18.0.2",
        "status": "ready",
        "eligible": False,
        "draining": True,
        "node_class": "big",
        "meta": {},
    }

"""Attaching to an external cluster: settings from the Nomad CLI's variables, namespace ownership."""

from __future__ import annotations

import os
import socket

from robot.api.types import Secret

from nomadtest import profiles
from nomadtest.agents import external
from nomadtest.api.client import NomadAPIError


def test_no_nomad_addr_means_local_agents():
    assert external.ClusterAccess.from_environment({}) is None
    assert external.ClusterAccess.from_environment({"NOMAD_ADDR": "  "}) is None


def test_the_cli_variables_are_read():
    access = external.ClusterAccess.from_environment(
        {
            "NOMAD_ADDR": "10.0.0.5:4646/",
            "NOMAD_TOKEN": "s3cret",
            "NOMAD_CACERT": "/ca.pem",
            "NOMAD_CLIENT_CERT": "/c.pem",
            "NOMAD_CLIENT_KEY": "/k.pem",
            "NOMAD_REGION": "eu",
        }
    )
    assert access.address == "http://10.0.0.5:4646"
    assert (access.token.value, access.region) == ("s3cret", "eu")
    assert "s3cret" not in repr(access)
    assert access.tls.verify == "/ca.pem"
    assert access.tls.cert == ("/c.pem", "/k.pem")
    skipping = external.ClusterAccess.from_environment({"NOMAD_ADDR": "https://n:4646", "NOMAD_SKIP_VERIFY": "true"})
    assert skipping.tls.verify is False


def test_the_owner_meta_names_this_host_and_process():
    meta = external.owner_meta()
    assert meta[external.OWNER_HOST] == socket.gethostname()
    assert meta[external.OWNER_PID] == str(os.getpid())
    assert float(meta[external.OWNER_CREATED]) > 0


def test_a_permission_denial_names_no_part_of_the_secret():
    access = external.ClusterAccess(address="http://n:4646", token=Secret("0123456789abcdef"))
    error = external.explain(NomadAPIError("PUT", "/v1/namespace/x", 403, "Permission denied"), access, "create x")
    assert "the token in NOMAD_TOKEN" in str(error)
    assert "01234567" not in str(error)
    assert "Give NOMAD_TOKEN a token whose policy allows it" in str(error)


def test_an_unreachable_cluster_says_how_to_go_back_to_local_agents():
    access = external.ClusterAccess(address="http://n:4646")
    error = external.explain(ConnectionError("refused"), access, "read the leader")
    assert "unset NOMAD_ADDR to start local agents" in str(error)


def test_attached_runs_lack_the_local_agents_capability(monkeypatch):
    profile = profiles.DriverProfile(name="crunjar", source="test", capabilities=frozenset({"exec"}))
    monkeypatch.delenv("NOMAD_ADDR", raising=False)
    assert profile.lacks(["needs:local-agents", "needs:exec"]) == []
    monkeypatch.setenv("NOMAD_ADDR", "http://127.0.0.1:4646")
    assert profile.lacks(["needs:local-agents", "needs:exec"]) == ["local-agents"]
    assert profile.lacks(["needs:external-cluster"]) == []
    monkeypatch.delenv("NOMAD_ADDR")
    assert profile.lacks(["needs:external-cluster"]) == ["external-cluster"]

"""Nomad versions: parsing, ordering, licences, ``needs:nomad>=X`` tags and templates that follow them."""

from __future__ import annotations

import pytest

from nomadtest import profiles, versions
from nomadtest.agents.launching import read_agent_version
from nomadtest.api.client import NomadAPIError
from nomadtest.jobs import taskconfig
from nomadtest.jobs.specs import render_job
from nomadtest.versions import NomadVersion, VersionError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.6.3", (1, 6, 3, "")),
        ("v1.11.0", (1, 11, 0, "")),
        ("Nomad v1.6.3", (1, 6, 3, "")),
        ("Nomad v1.8.0-dev", (1, 8, 0, "dev")),
        ("1.9", (1, 9, 0, "")),
        ("Nomad v1.10.2+ent", (1, 10, 2, "")),
    ],
)
def test_parse(text, expected):
    version = NomadVersion.parse(text)
    assert (version.major, version.minor, version.patch, version.prerelease) == expected


@pytest.mark.parametrize("text", ["", "nomad", "latest"])
def test_parse_refuses_what_is_not_a_version(text):
    with pytest.raises(VersionError, match="is not a Nomad version"):
        NomadVersion.parse(text)


def test_order_is_numeric_and_prereleases_come_before_their_release():
    assert NomadVersion.parse("1.6.3") < NomadVersion.parse("1.10.0")
    assert NomadVersion.parse("1.8.0-dev") < NomadVersion.parse("1.8.0")
    assert NomadVersion.parse("1.8.0-dev") > NomadVersion.parse("1.7.9")
    assert NomadVersion.parse("1.9.2").at_least("1.9.2")
    assert not NomadVersion.parse("1.9.1").at_least("1.9.2")


def test_licence_changes_at_1_7_0():
    assert NomadVersion.parse("1.6.3").licence == "MPL-2.0"
    assert NomadVersion.parse("1.7.0").licence == "BUSL-1.1"
    assert NomadVersion.parse("1.11.3").licence == "BUSL-1.1"


def test_needs_tags_name_the_versions_an_older_agent_lacks():
    tags = ["story:artifacts", "needs:isolation", "needs:nomad>=1.9.2", "NEEDS:NOMAD>=1.8"]
    assert [str(v) for v in versions.unmet(tags, NomadVersion.parse("1.6.3"))] == ["1.9.2", "1.8.0"]
    assert [str(v) for v in versions.unmet(tags, NomadVersion.parse("1.8.5"))] == ["1.9.2"]
    assert versions.unmet(tags, NomadVersion.parse("1.11.3")) == []
    assert versions.unmet(["needs:isolation"], NomadVersion.parse("1.0.0")) == []


def test_a_malformed_needs_tag_fails_naming_it():
    with pytest.raises(VersionError, match="Tag 'needs:nomad>=newest' names no version"):
        versions.needed(["needs:nomad>=newest"])


def test_version_from_agent_self():
    answer = {"config": {"Version": {"Version": "1.8.0", "VersionPrerelease": "beta.1"}}}
    assert str(versions.from_agent_self(answer)) == "1.8.0-beta.1"
    with pytest.raises(VersionError, match=r"no config\.Version"):
        versions.from_agent_self({"config": {}})


class _Client:
    """A client whose token may not read /v1/agent/self (an external cluster's test token)."""

    def __init__(self, agent_self: dict | None, node_versions: list[str]) -> None:
        self.agent_self = agent_self
        self.node_versions = node_versions

    def get(self, path: str, **_params):
        if path == "/v1/agent/self":
            if self.agent_self is None:
                raise NomadAPIError("GET", path, 403, "Permission denied")
            return self.agent_self
        return [{"Name": f"n{i}", "Version": v} for i, v in enumerate(self.node_versions)]


def test_agent_version_falls_back_to_the_oldest_node_without_agent_read():
    assert str(read_agent_version(_Client(None, ["1.11.3", "1.10.0"]))) == "1.10.0"
    assert str(read_agent_version(_Client({"config": {"Version": {"Version": "1.6.3"}}}, []))) == "1.6.3"
    with pytest.raises(VersionError, match="Neither"):
        read_agent_version(_Client(None, []))


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("1.6.3", 'max_client_disconnect = "2m"', "disconnect {"),
        ("1.8.0", 'lost_after = "2m"', "max_client_disconnect"),
        ("1.11.3", 'lost_after = "2m"', "max_client_disconnect"),
    ],
)
def test_cluster_job_follows_the_agents_version_for_disconnects(version, present, absent):
    rendered = render_job(
        "cluster-job",
        {"jar_path": "/j.jar", "disconnect_lost_after": "2m"},
        defaults={"driver": "crunjar", "nomad_version": version},
        task_config=lambda inputs: taskconfig.render(profiles.load("crunjar").task_mapping(), "crunjar", inputs),
    )
    assert present in rendered.hcl
    assert absent not in rendered.hcl

"""HCL rendering of Python values and of the agent configuration template."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import NOMAD_BIN, needs_nomad

from nomadtest.agents.configuration import AgentSettings, render_config
from nomadtest.host.ports import AgentPorts
from nomadtest.templating import TemplateError, hcl, hcl_body, render

PORTS = AgentPorts(http=14646, rpc=14647, serf=14648)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        ("plain", '"plain"'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ("ünï", '"ünï"'),
        (Path("/opt/x"), '"/opt/x"'),
        (["a", 1, False], '["a", 1, false]'),
        ({}, "{}"),
    ],
)
def test_hcl_values(value, expected):
    assert hcl(value) == expected


def test_hcl_nested_maps_are_objects_with_quoted_keys_where_needed():
    rendered = hcl({"java_runtimes": {"17": "/usr/lib/jvm/java-17"}, "allow_caps": ["chown"]})
    assert rendered == '{\n  java_runtimes = {\n    "17" = "/usr/lib/jvm/java-17"\n  }\n  allow_caps = ["chown"]\n}'


def test_hcl_body_indents_and_quotes_dotted_keys():
    assert hcl_body({"fingerprint.denylist": "env_aws", "enabled": True}, 1) == (
        '  "fingerprint.denylist" = "env_aws"\n  enabled = true'
    )


def test_none_is_refused_with_the_key_named():
    with pytest.raises(TypeError, match=r"Key 'state_dir'.*null"):
        hcl_body({"state_dir": None})


def test_missing_variable_names_variable_and_line(tmp_path):
    (tmp_path / "t.j2").write_text("a = 1\nb = {{ present }}\nc = {{ forgotten }}\n")
    with pytest.raises(TemplateError, match=r"'t.j2' line 3: 'forgotten' is undefined"):
        render("t.j2", {"present": 1}, tmp_path)


def test_missing_agent_template_variable_is_named():
    with pytest.raises(TemplateError, match=r"agent.hcl.j2.*'plugins' is undefined"):
        render(
            "agent.hcl.j2",
            {
                "name": "x",
                "datacenter": "dc1",
                "region": "global",
                "data_dir": "/d",
                "plugin_dir": "/p",
                "bind_addr": "127.0.0.1",
                "log_level": "DEBUG",
                "ports": PORTS,
                "server": False,
                "client": False,
            },
        )


def agent_config(tmp_path: Path, **changes) -> str:
    settings = AgentSettings(name="agent-1", driver="raw_exec")
    for key, value in changes.items():
        setattr(settings, key, value)
    return render_config(settings, PORTS, tmp_path / "run", tmp_path / "plugins", {"raw_exec": {"enabled": True}})


def test_agent_config_binds_loopback_and_calls_nowhere(tmp_path):
    text = agent_config(tmp_path)
    assert 'bind_addr  = "127.0.0.1"' in text
    assert "disable_update_check = true" in text
    assert '"fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul"' in text
    assert 'rpc  = "127.0.0.1:14647"' in text
    assert f'data_dir   = "{tmp_path}/run/data"' in text
    assert 'plugin "raw_exec" {\n  config {\n    enabled = true\n  }\n}' in text
    assert "server_join" not in text


def test_agent_config_of_cluster_members(tmp_path):
    server = agent_config(tmp_path, client=False, bootstrap_expect=3, server_join=["127.0.0.1:1", "127.0.0.1:2"])
    assert "bootstrap_expect = 3" in server
    assert 'retry_join     = ["127.0.0.1:1", "127.0.0.1:2"]' in server
    assert "network_interface" not in server
    client = agent_config(tmp_path, server=False, client_servers=["127.0.0.1:3"], meta={"rack": "r1"})
    assert "bootstrap_expect" not in client
    assert 'servers = ["127.0.0.1:3"]' in client
    assert '  meta {\n    rack = "r1"\n  }' in client


def test_overrides_are_routed_to_their_block():
    settings = AgentSettings(name="a")
    settings.apply_overrides(
        {
            "datacenter": "dc2",
            "meta": {"a": "1"},
            "client": {"options": {"driver.denylist": "docker"}, "gc_max_allocs": 5, "servers": ["x:1"]},
            "server": {"raft_multiplier": 2},
            "enable_debug": True,
        }
    )
    assert settings.datacenter == "dc2"
    assert settings.meta == {"a": "1"}
    assert settings.client_options["driver.denylist"] == "docker"
    assert "fingerprint.denylist" in settings.client_options
    assert settings.client_extra == {"gc_max_allocs": 5}
    assert settings.client_servers == ["x:1"]
    assert settings.server_extra == {"raft_multiplier": 2}
    assert settings.extra == {"enable_debug": True}


@pytest.mark.parametrize("key", ["data_dir", "ports", "name", "bind_addr"])
def test_managed_settings_cannot_be_overridden(key):
    with pytest.raises(ValueError, match=key):
        AgentSettings(name="a").apply_overrides({key: "x"})


@needs_nomad
def test_nomad_accepts_rendered_configs(tmp_path):
    for changes in (
        {},
        {"client": False, "bootstrap_expect": 3, "server_join": ["127.0.0.1:1"]},
        {"server": False, "client_servers": ["127.0.0.1:3"], "meta": {"k.v": "x"}},
    ):
        path = tmp_path / "agent.hcl"
        path.write_text(agent_config(tmp_path, **changes))
        result = subprocess.run([str(NOMAD_BIN), "config", "validate", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

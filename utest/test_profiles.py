"""Driver profiles, JAR delivery by artifact, and the driver default of job templates."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from nomadtest import profiles
from nomadtest.agents import configuration
from nomadtest.host import runroot
from nomadtest.jobs import specs, taskconfig
from nomadtest.jobs.delivery import JarDelivery


def test_the_shipped_profiles_say_what_each_driver_claims():
    crunjar = profiles.load("crunjar")
    java = profiles.load("java")
    assert crunjar.jar_delivery == "host_path" and "recovery" in crunjar.capabilities
    assert java.jar_delivery == "artifact" and "isolation" not in java.capabilities


def test_a_test_needing_what_the_driver_lacks_is_named():
    java = profiles.load("java")
    assert java.lacks(["area:container", "needs:isolation", "needs:signals"]) == ["isolation"]
    assert profiles.load("crunjar").lacks(["needs:isolation"]) == []


def test_a_driver_without_a_profile_claims_nothing_and_gets_artifacts():
    milo = profiles.load("milo")
    assert milo.capabilities == frozenset() and milo.jar_delivery == "artifact"
    assert "no profile" in milo.source


def test_broken_profiles_are_refused_with_the_reason(tmp_path):
    wrong = tmp_path / "milo.toml"
    wrong.write_text('jar_delivery = "carrier-pigeon"\n')
    with pytest.raises(profiles.ProfileError, match="jar_delivery must be one of"):
        profiles.load("milo", wrong)
    wrong.write_text('name = "other"\n')
    with pytest.raises(profiles.ProfileError, match="describes driver 'other', not 'milo'"):
        profiles.load("milo", wrong)
    with pytest.raises(profiles.ProfileError, match="does not exist"):
        profiles.load("milo", tmp_path / "missing.toml")


def test_a_host_jar_is_served_and_named_in_local(tmp_path, monkeypatch):
    monkeypatch.setattr(runroot, "_configured", tmp_path / "run-root")
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"PK\x03\x04 not really a jar")
    delivery = JarDelivery()
    try:
        delivered = delivery.deliver({"jar_path": str(jar), "artifacts": [{"source": "http://x/y"}]})
        assert delivered["jar_path"] == "local/app.jar"
        assert delivered["artifacts"][0] == {"source": "http://x/y"}
        with urllib.request.urlopen(delivered["artifacts"][1]["source"], timeout=5) as answer:
            assert answer.read() == jar.read_bytes()
        # Paths relative to the task dir and files that do not exist are left to the driver.
        assert delivery.deliver({"jar_path": "local/x.jar"}) == {"jar_path": "local/x.jar"}
        assert delivery.deliver({"jar_path": "/nowhere.jar"}) == {"jar_path": "/nowhere.jar"}
    finally:
        delivery.close()
    assert not list((tmp_path / "run-root" / "artifacts").iterdir())


def test_templates_get_the_driver_under_test_unless_told_otherwise():
    java = profiles.load("java").task_mapping()

    def task_config(inputs):
        return taskconfig.render(java, "java", inputs)

    default = specs.render_job(
        "java-batch", {"jar_path": "/x.jar"}, defaults={"driver": "java"}, task_config=task_config
    )
    assert 'driver = "java"' in default.hcl
    explicit = specs.render_job(
        "java-batch", {"jar_path": "/x.jar", "driver": "milo"}, defaults={"driver": "java"}, task_config=task_config
    )
    assert 'driver = "milo"' in explicit.hcl
    assert (
        'driver = "raw_exec"' in specs.render_job("raw-exec", {"command": "/bin/true"}, defaults={"driver": "java"}).hcl
    )


def write_profile(tmp_path, text: str):
    path = tmp_path / "milo.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("capabilites = []\n", r"unknown key\(s\) capabilites"),
        ('capabilities = ["teleport"]\n', "unknown capability teleport; the framework knows: args, cgroup-limits"),
        ('[task]\njar = "x"\n', r"\[task\] has unknown key\(s\) jar"),
        ("[task]\nargs = 3\n", r"\[task\] args must name the driver's task option"),
        ('jar_delivery = "host_path"\n[task]\nargs = "argv"\n', "needs \\[task\\] jar_path"),
        ('[task]\nargs = "a"\n[task.command]\nprogram = "java"\noption = "c"\nargs_option = "a"\n', "cannot also"),
        ('[task.command]\nprogram = "java"\n', r"\[task.command\] needs program"),
        ('[cleanup]\nbundles = "b"\n', r"\[cleanup\] has unknown key\(s\) bundles"),
    ],
)
def test_a_profile_naming_what_the_framework_does_not_know_is_refused_with_the_fix(tmp_path, text, message):
    with pytest.raises(profiles.ProfileError, match=message):
        profiles.load("milo", write_profile(tmp_path, text))


def test_inputs_go_to_the_options_the_profile_names_with_its_fixed_ones(tmp_path):
    profile = profiles.load("milo", write_profile(tmp_path, '[task]\nargs = "argv"\n[task.fixed]\nmode = "jar"\n'))
    assert profile.task.claimed() == frozenset({"args"})
    assert profile.lacks(["needs:args", "needs:jvm-options"]) == ["jvm-options"]
    rendered = taskconfig.render(profile.task_mapping(), "milo", {"jar_path": "local/a.jar", "args": ["x"]})
    # The driver takes no JAR path: it finds the JAR (an artifact) in local/ itself.
    assert rendered == {"mode": "jar", "argv": ["x"]}
    with pytest.raises(specs.JobError, match=r"Driver 'milo' takes no jvm_options.*Tag the test needs:jvm-options"):
        taskconfig.render(profile.task_mapping(), "milo", {"jvm_options": ["-Xmx8m"]})


def test_a_driver_running_java_as_a_command_gets_the_inputs_as_its_arguments():
    raw_exec = profiles.load("raw_exec").task_mapping()
    jar = {"jar_path": "local/a.jar", "jvm_options": ["-Xmx8m"], "args": ["1", "2"]}
    assert taskconfig.render(raw_exec, "raw_exec", jar) == {
        "command": "java",
        "args": ["-Xmx8m", "-jar", "local/a.jar", "1", "2"],
    }
    main = {"main_class": "app.Main", "class_path": "local/lib/*"}
    assert taskconfig.render(raw_exec, "raw_exec", main)["args"] == ["-cp", "local/lib/*", "app.Main"]
    with pytest.raises(specs.JobError, match="give jar_path or main_class"):
        taskconfig.render(raw_exec, "raw_exec", {"args": ["x"]})


def test_a_profile_without_a_task_table_says_how_to_write_one():
    with pytest.raises(profiles.ProfileError, match=r"has no \[task\] table.*jar_path, main_class"):
        profiles.load("milo").task_mapping()


def test_per_agent_plugin_settings_come_from_the_profile(tmp_path):
    crunjar = profiles.load("crunjar")
    expanded = profiles.expand(crunjar.plugin_config, tmp_path / "nomad-1", "42-abc")
    assert expanded["state_dir"] == f"{tmp_path}/nomad-1/crunjar"
    assert expanded["cgroup_parent"] == "crunjar-42-abc"
    assert crunjar.cleanup == {"state_dir": "state_dir", "cgroup_parent": "cgroup_parent", "runtime": "runtime"}
    assert crunjar.plugin == "nomad-driver-crunjar"


def test_the_readme_lists_every_capability_of_the_vocabulary_and_the_profiles_claim_only_those():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [name for name in profiles.VOCABULARY if f"| `{name}` |" not in readme]
    assert missing == []
    for shipped in profiles.PROFILES_DIR.glob("*.toml"):
        assert profiles.load(shipped.stem).claims() <= set(profiles.VOCABULARY)


def test_every_needs_tag_of_the_suites_is_in_the_vocabulary():
    suites = Path(__file__).resolve().parents[1] / "suites"
    used = {
        tag
        for path in suites.rglob("*.robot")
        for tag in re.findall(r"needs:([a-z0-9-]+)(?![>=.\w])", path.read_text())
    }
    assert used - set(profiles.VOCABULARY) == set()


def test_client_settings_of_a_profile_go_below_what_the_test_set(tmp_path):
    path = tmp_path / "boxjar.toml"
    path.write_text(
        '[client]\nchroot_env = { "/etc" = "/etc" }\nmax_kill_timeout = "10s"\n[client.options]\n"a" = "1"\n'
    )
    settings = configuration.AgentSettings(name="one")
    settings.apply_overrides({"client": {"max_kill_timeout": "30s"}})
    settings.add_driver_client_settings(profiles.load("boxjar", path).client)
    assert settings.client_extra == {"max_kill_timeout": "30s", "chroot_env": {"/etc": "/etc"}}
    assert settings.client_options["a"] == "1"


def test_a_profile_cannot_make_every_agent_a_client(tmp_path):
    path = tmp_path / "boxjar.toml"
    path.write_text("[client]\nenabled = true\n")
    with pytest.raises(profiles.ProfileError, match="cannot set enabled"):
        profiles.load("boxjar", path)


def test_the_state_dir_and_cgroup_parent_of_every_agent_follow_from_the_profile():
    crunjar = profiles.load("crunjar")
    assert (crunjar.state_dir_in_run_dir(), crunjar.cgroup_parent_prefix()) == ("crunjar", "crunjar-")
    assert (profiles.load("java").state_dir_in_run_dir(), profiles.load("java").cgroup_parent_prefix()) == ("", "")
    assert {profile.name for profile in profiles.known()} >= {"crunjar", "java", "raw_exec"}

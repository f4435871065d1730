"""Driver profiles, JAR delivery by artifact, and the driver default of job templates."""

from __future__ import annotations

import urllib.request

import pytest

from nomadtest import profiles
from nomadtest.host import runroot
from nomadtest.jobs import specs
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
    default = specs.render_job("java-batch", {"jar_path": "/x.jar"}, defaults={"driver": "java"})
    assert 'driver = "java"' in default.hcl
    explicit = specs.render_job("java-batch", {"jar_path": "/x.jar", "driver": "milo"}, defaults={"driver": "java"})
    assert 'driver = "milo"' in explicit.hcl
    assert (
        'driver = "raw_exec"' in specs.render_job("raw-exec", {"command": "/bin/true"}, defaults={"driver": "java"}).hcl
    )

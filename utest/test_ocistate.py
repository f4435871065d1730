"""Containers in the usual OCI runtime roots, read from crun's and runc's state files, and the roots
a driver profile adds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nomadtest import profiles
from nomadtest.host import ocistate


def crun_container(root: Path, container: str, bundle: str, env: list[str]) -> None:
    """A container's state as crun keeps it: ``status`` and a copy of the bundle's ``config.json``."""
    (root / container).mkdir(parents=True)
    (root / container / "status").write_text(json.dumps({"pid": 4242, "bundle": bundle, "rootfs": "rootfs"}))
    (root / container / "config.json").write_text(json.dumps({"process": {"env": env}}))


def runc_container(root: Path, container: str, mount_source: str) -> None:
    """A container's state as runc keeps it: ``state.json`` with its libcontainer config."""
    (root / container).mkdir(parents=True)
    config = {"rootfs": "/b/rootfs", "labels": ["bundle=/b"], "mounts": [{"source": mount_source}]}
    (root / container / "state.json").write_text(json.dumps({"id": container, "config": config}))


def test_containers_are_read_from_crun_and_runc_state_without_the_runtimes(tmp_path):
    crun_container(tmp_path / "crun", "web", "/srv/bundles/web", ["NOMAD_ALLOC_ID=abc"])
    runc_container(tmp_path / "runc", "db", "/run/e2e/client-1/data/alloc/x/alloc")
    (tmp_path / "crun" / "not-a-container").mkdir()

    [web] = ocistate.containers(tmp_path / "crun")
    [db] = ocistate.containers(tmp_path / "runc")

    assert str(web) == f"container web in {tmp_path / 'crun'}"
    assert "/srv/bundles/web" in web.state and "NOMAD_ALLOC_ID=abc" in web.state
    assert "/run/e2e/client-1/data/alloc/x/alloc" in db.state
    assert ocistate.containers(tmp_path / "no-such-root") == []


def test_runtime_roots_are_the_defaults_for_root_and_the_users_runtime_dir_otherwise(monkeypatch, tmp_path):
    profile = profiles.DriverProfile(name="x", source="no profile")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    monkeypatch.setattr(ocistate.os, "geteuid", lambda: 0)
    assert ocistate.runtime_roots(profile) == [Path("/run/crun"), Path("/run/runc")]
    monkeypatch.setattr(ocistate.os, "geteuid", lambda: 1000)
    assert ocistate.runtime_roots(profile)[2:] == [Path("/run/user/1000/crun"), Path("/run/user/1000/runc")]


def test_a_profile_adds_its_leak_roots_and_one_without_them_adds_none(tmp_path):
    with_roots = tmp_path / "mydriver.toml"
    with_roots.write_text('name = "mydriver"\nleak_roots = ["/var/lib/mydriver/runc", "/run/crun"]\n')
    profile = profiles.load("mydriver", with_roots)
    assert ocistate.profile_roots(profile) == [Path("/var/lib/mydriver/runc"), Path("/run/crun")]
    assert ocistate.runtime_roots(profile).count(Path("/run/crun")) == 1

    without = tmp_path / "other.toml"
    without.write_text('name = "other"\n')
    assert ocistate.profile_roots(profiles.load("other", without)) == []
    assert ocistate.profile_roots(profiles.DriverProfile(name="none", source="no profile (x does not exist)")) == []
    without.write_text('leak_roots = "/not/a/list"\n')
    with pytest.raises(profiles.ProfileError, match="leak_roots must be a list of absolute paths"):
        profiles.load("other", without)


def test_containers_below_a_state_dir_are_those_a_runtime_keeps_not_bundles(tmp_path):
    (tmp_path / "crun" / "c1").mkdir(parents=True)
    (tmp_path / "crun" / "c1" / "status").write_text("running")
    (tmp_path / "bundles" / "c1").mkdir(parents=True)
    (tmp_path / "bundles" / "c1" / "config.json").write_text("{}")
    assert [str(container) for container in ocistate.containers_below(tmp_path)] == [
        f"container c1 in {tmp_path / 'crun'}"
    ]

"""The Go build holds no module under the Business Source License (scripts/check-licences.py)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_licences", REPO / "scripts" / "check-licences.py")
licences = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(licences)


@pytest.mark.parametrize(
    ("path", "version", "allowed"),
    [
        ("github.com/hashicorp/nomad", "v1.6.3", True),
        ("github.com/hashicorp/nomad", "v1.7.0", False),
        ("github.com/hashicorp/nomad", "v1.11.3", False),
        ("github.com/hashicorp/nomad", "v0.0.0-20250101000000-abcdefabcdef", False),
        ("github.com/hashicorp/nomad/api", "v0.0.0-20231030125810-e0497bff1437", True),
        ("github.com/hashicorp/consul", "v1.16.9", True),
        ("github.com/hashicorp/consul", "v1.17.0", False),
        ("github.com/hashicorp/consul/api", "v1.33.4", True),
        ("github.com/hashicorp/vault/api", "v1.22.0", True),
        ("github.com/hashicorp/terraform", "v1.5.7", True),
        ("github.com/hashicorp/go-hclog", "v1.6.3", True),
    ],
)
def test_verdict(path, version, allowed):
    assert (licences.verdict(path, version) is None) == allowed


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain")
def test_the_drivers_build_graph_holds_no_busl_module():
    modules = dict(licences.modules_of_module(str(REPO / "driver")))
    assert modules["github.com/hashicorp/nomad"] == "v1.6.3"
    offenders = [licences.verdict(path, version) for path, version in modules.items()]
    assert [problem for problem in offenders if problem] == []

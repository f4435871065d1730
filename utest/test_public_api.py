"""The public keyword API changes only on purpose: names and arguments against a committed snapshot.

Keywords and arguments are deprecated for at least one minor release before they are removed, and
every change has a CHANGELOG entry. When this test fails on a change you meant, run
``make api-snapshot`` and commit the snapshot with the CHANGELOG entry.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

from nomadtest import deprecation

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("public_api", ROOT / "scripts" / "public-api.py")
public_api = importlib.util.module_from_spec(spec)
sys.modules["public_api"] = public_api
spec.loader.exec_module(public_api)


def test_the_public_keywords_and_their_arguments_match_the_snapshot():
    changes = public_api.differences(json.loads(public_api.SNAPSHOT.read_text()), public_api.public_api())
    assert not changes, (
        "The public keyword API differs from utest/public-api.json:\n"
        + "\n".join(changes)
        + "\nIf this is deliberate: deprecate before removing, add a CHANGELOG entry "
        "(Added / Changed / Deprecated / Removed), then run `make api-snapshot`."
    )


def test_a_removed_keyword_or_a_changed_argument_is_reported():
    old = {"NomadJob": {"Stop Job": ["job_id: str"], "Gone": []}}
    new = {"NomadJob": {"Stop Job": ["job_id: str", "purge: bool = True"], "New": []}}
    assert public_api.differences(old, new) == [
        "removed: NomadJob: Gone",
        "added: NomadJob: New()",
        "changed: NomadJob: Stop Job(job_id: str) -> (job_id: str, purge: bool = True)",
    ]


def test_the_snapshot_covers_every_library_and_shared_resource_file():
    snapshot = json.loads(public_api.SNAPSHOT.read_text())
    resources = {f"resources/{path.name}" for path in (ROOT / "resources").glob("*.resource")}
    assert set(snapshot) == set(public_api.LIBRARIES) | resources


def test_the_keyword_0_2_teardowns_called_is_still_there():
    snapshot = json.loads(public_api.SNAPSHOT.read_text())
    assert snapshot["NomadServer"]["Capture Forensics If Test Failed"] == []


def test_the_changelog_has_the_four_sections_under_unreleased():
    text = (ROOT / "CHANGELOG.md").read_text()
    unreleased = re.search(r"^## Unreleased\n(.*?)^## ", text, re.S | re.M)
    assert unreleased, "CHANGELOG.md has no '## Unreleased' section followed by a release"
    headings = re.findall(r"^### (\w+)", unreleased.group(1), re.M)
    assert {"Added", "Changed", "Deprecated", "Removed"} <= set(headings), headings


def test_a_deprecated_keyword_warns_once_per_run(monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(deprecation.logger, "warn", warnings.append)
    monkeypatch.setattr(deprecation, "_warned", set())
    assert deprecation.warn_once("Old Keyword", "0.5.0", "0.6.0", "use New Keyword")
    assert not deprecation.warn_once("Old Keyword", "0.5.0", "0.6.0", "use New Keyword")
    assert warnings == [
        "Keyword 'Old Keyword' is deprecated since 0.5.0 and will be removed in 0.6.0: use New Keyword "
        "(warned once per run)."
    ]

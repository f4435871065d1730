"""The documentation keeps up with what it documents: every test JAR and crunjar task option is in docs/test-jars.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = (ROOT / "docs" / "test-jars.md").read_text()


def rows_of(section: str) -> set[str]:
    """The first column (in backticks) of the table under the ``## section`` heading."""
    body = CATALOGUE.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", body, re.M))


def test_every_test_jar_is_in_the_catalogue():
    apps = {path.name for path in (ROOT / "jars" / "apps").iterdir() if (path / "Main.java").exists()}
    assert rows_of("The applications") == apps


def test_every_crunjar_task_option_is_in_the_catalogue_with_its_type():
    spec = (ROOT / "driver" / "config.go").read_text().split("taskConfigSpec = ", 1)[1].split("})", 1)[0]
    options = dict(re.findall(r'hclspec\.NewAttr\("(\w+)", "([^"]+)"', spec))
    body = CATALOGUE.split("## crunjar's task options\n", 1)[1].split("\n## ", 1)[0]
    documented = dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", body, re.M))
    assert documented == options


def test_the_readme_library_example_is_the_fixture_that_runs_it():
    """suites/_fixtures/readme_example.robot runs README's example with this checkout's Nomad, plugin and JAR."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Using the libraries from your own repository", 1)[1]
    example = section.split("```robotframework\n", 1)[1].split("```", 1)[0]
    fixture = (ROOT / "suites" / "_fixtures" / "readme_example.robot").read_text()

    def steps(text: str) -> list[str]:
        """The suite setup and the test's steps, without documentation, spacing or what the fixture substitutes."""
        kept = []
        for line in text.splitlines():
            words = line.split()
            if words[:2] == ["Suite", "Setup"] or (line.startswith("    ") and not words[0].startswith("[")):
                kept.append(" ".join(words))
        return kept

    substituted = steps(example.replace("${CURDIR}/app.jar", "${JARS}/hello.jar").replace("    driver=mydriver", ""))
    assert substituted == steps(fixture)
    assert "Suite Setup" in example and "[Teardown]" in section.split("###", 1)[0]

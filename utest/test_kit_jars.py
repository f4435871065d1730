"""The test JARs: compiled with the javac at hand, broken ones made from a good one, cached by content."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from nomadtest.kit import testjars

HELLO = 'public final class Main { public static void main(String[] a) { System.out.println("hi"); } }\n'


def test_broken_jars_are_made_from_a_good_one(tmp_path):
    good = tmp_path / "hello.jar"
    testjars.write_jar(good, {"Main.class": b"\xca\xfe\xba\xbe"}, main_class="Main")
    testjars.make_broken_jars(good, tmp_path / "broken")
    broken = tmp_path / "broken"
    assert sorted(path.name for path in broken.iterdir()) == [
        "corrupted.jar",
        "empty.jar",
        "no-main-class.jar",
        "script.py",
        "text.jar",
        "zero-bytes.jar",
    ]
    assert (broken / "corrupted.jar").stat().st_size == good.stat().st_size // 2
    assert zipfile.ZipFile(broken / "empty.jar").namelist() == []
    assert (broken / "zero-bytes.jar").stat().st_size == 0
    with zipfile.ZipFile(broken / "no-main-class.jar") as archive:
        assert "Main-Class" not in archive.read("META-INF/MANIFEST.MF").decode()
        assert archive.read("Main.class") == b"\xca\xfe\xba\xbe"
    with zipfile.ZipFile(good) as archive:
        assert archive.namelist()[0] == "META-INF/MANIFEST.MF"
        assert "Main-Class: Main\r\n" in archive.read("META-INF/MANIFEST.MF").decode()


def test_the_cache_key_follows_the_sources(tmp_path):
    (tmp_path / "hello").mkdir()
    source = tmp_path / "hello" / "Main.java"
    source.write_text(HELLO)
    before = testjars.digest(tmp_path)
    assert testjars.digest(tmp_path) == before
    source.write_text(HELLO + "// changed\n")
    assert testjars.digest(tmp_path) != before


@pytest.mark.skipif(testjars.find_javac(testjars.DEFAULT_RELEASE) is None, reason="needs a JDK")
def test_jars_are_built_once_into_the_cache_and_run(tmp_path):
    apps = tmp_path / "apps"
    (apps / "hello").mkdir(parents=True)
    (apps / "hello" / "Main.java").write_text(HELLO)
    built = testjars.ensure_built(apps, tmp_path / "cache")
    assert built.parent == tmp_path / "cache"
    assert sorted(path.name for path in built.iterdir()) == ["broken", "hello.jar"]
    assert [path.name for path in (tmp_path / "cache").iterdir()] == [built.name]  # no staging dir left
    assert testjars.ensure_built(apps, tmp_path / "cache") == built
    java = Path(testjars.find_javac(testjars.DEFAULT_RELEASE)).with_name("java")
    answer = subprocess.run([java, "-jar", built / "hello.jar"], capture_output=True, text=True, check=True)
    assert answer.stdout == "hi\n"

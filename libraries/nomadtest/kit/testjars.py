"""The test JARs the suites run, compiled from their sources with the javac at hand.

Each application is a folder of Java sources with its entry point in class ``Main``: ``jars/apps/<name>/``
in the checkout, ``nomadtest/kit/apps/<name>/`` installed. It is compiled for Java 11, so every JDK from
11 on runs it, or for the release its folder's ``release`` file names. The broken JARs of the error
scenarios are made from ``hello.jar``, so nothing binary is shipped.

The kit builds every application once per content of the sources into the cache
(``$XDG_CACHE_HOME/nomad-e2e/jars/<digest>``); the checkout's Makefile builds one JAR at a time into
``jars/build/`` with ``python -m nomadtest.kit.testjars``.
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_RELEASE = "11"
GOOD_JAR = "hello.jar"
BROKEN_DIR = "broken"
# Sources compiled into every application (how each reads its inputs), not an application of its own.
SHARED = "_shared"
# javac's warnings about sun.misc.Signal, the only way a JVM handles signals, and its count of warnings.
EXPECTED_WARNING = re.compile(r".*compiler\.warn\.sun\.proprietary.*|\d+ warnings?")


class BuildError(Exception):
    """A test JAR could not be built; the message says what to install or fix."""


def apps_dir() -> Path:
    """The application sources: installed beside this module, or the checkout's ``jars/apps/``."""
    installed = Path(__file__).resolve().parent / "apps"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[3] / "jars" / "apps"


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nomad-e2e" / "jars"


def digest(apps: Path) -> str:
    """Names one content of the sources; this module's own text is in it, so a new way of building rebuilds."""
    hashed = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(path for path in apps.rglob("*") if path.is_file()):
        hashed.update(str(path.relative_to(apps)).encode() + b"\0" + path.read_bytes() + b"\0")
    return hashed.hexdigest()[:16]


def ensure_built(apps: Path | None = None, cache: Path | None = None) -> Path:
    """The directory holding every application's JAR and ``broken/``, built first if the cache lacks it."""
    apps = apps or apps_dir()
    cache = cache or cache_dir()
    built = cache / digest(apps)
    if built.is_dir():
        return built
    cache.mkdir(parents=True, exist_ok=True)
    # Built aside and renamed into place: an interrupted build leaves no half directory to trust.
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        applications = sorted(app for app in apps.iterdir() if any(app.glob("*.java")) and app != apps / SHARED)
        print(f"Building {len(applications)} test JARs into {built} (once per version of their sources)")
        # One javac per application (each has its own class Main); a JVM start each, so side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            list(pool.map(lambda app: build_jar(app, staging / f"{app.name}.jar"), applications))
        make_broken_jars(staging / GOOD_JAR, staging / BROKEN_DIR)
        # mkdtemp's 0700 would keep the JARs from a task user reading them where they lie.
        staging.chmod(0o755)
        try:
            staging.rename(built)
        except OSError:
            if not built.is_dir():  # not another run that finished the same build first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return built


def build_jar(app: Path, jar: Path) -> None:
    """Compiles ``app/*.java`` and packs the classes into ``jar``, runnable with ``java -jar``."""
    release_file = app / "release"
    release = release_file.read_text().strip() if release_file.is_file() else DEFAULT_RELEASE
    javac = find_javac(release)
    if javac is None:
        raise BuildError(
            f"No javac compiles for Java {release}, which the test application {app.name} needs: install a "
            f"JDK {release} or later (a JDK, not a JRE: javac builds the test JARs) or point JAVA_HOME at one."
        )
    with tempfile.TemporaryDirectory() as classes:
        sources = sorted(str(source) for source in [*app.glob("*.java"), *(app.parent / SHARED).glob("*.java")])
        command = [javac, "--release", release, "-Xlint:all", "-XDrawDiagnostics", "-d", classes, *sources]
        answer = subprocess.run(command, capture_output=True, text=True, check=False)
        if answer.returncode != 0:
            raise BuildError(f"javac could not compile {app.name}:\n{answer.stdout}{answer.stderr}")
        for line in (answer.stdout + answer.stderr).splitlines():
            if line.strip() and not EXPECTED_WARNING.fullmatch(line.strip()):
                print(f"{app.name}: {line}")
        root = Path(classes)
        entries = {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.class"))}
    jar.parent.mkdir(parents=True, exist_ok=True)
    write_jar(jar, entries, main_class="Main")


def write_jar(jar: Path, entries: dict[str, bytes], main_class: str | None) -> None:
    """A JAR is a zip whose first entry is its manifest; without ``main_class`` it names none."""
    manifest = "Manifest-Version: 1.0\r\nCreated-By: nomad-e2e\r\n"
    if main_class:
        manifest += f"Main-Class: {main_class}\r\n"
    with zipfile.ZipFile(jar, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", manifest + "\r\n")
        for name, content in entries.items():
            archive.writestr(name, content)


def make_broken_jars(good: Path, out: Path) -> None:
    """What the error scenarios feed the driver: a truncated JAR, a zip without entries, a zero-byte
    file, a JAR whose manifest names no Main-Class, text named ``.jar`` and a Python artifact."""
    out.mkdir(parents=True, exist_ok=True)
    content = good.read_bytes()
    (out / "corrupted.jar").write_bytes(content[: len(content) // 2])
    # A zip without entries is only its end-of-central-directory record.
    (out / "empty.jar").write_bytes(b"PK\x05\x06" + bytes(18))
    (out / "zero-bytes.jar").write_bytes(b"")
    with zipfile.ZipFile(good) as archive:
        classes = {name: archive.read(name) for name in archive.namelist() if not name.startswith("META-INF/")}
    write_jar(out / "no-main-class.jar", classes, main_class=None)
    (out / "text.jar").write_text("this is plain text, not a JAR\n")
    (out / "script.py").write_text('#!/usr/bin/env python3\nprint("not java")\n')


@functools.cache
def find_javac(release: str) -> str | None:
    """The first javac that compiles for ``release``: ``$JAVA_HOME``'s, PATH's, then the JDKs in /usr/lib/jvm."""
    java_home = os.environ.get("JAVA_HOME")
    candidates = [
        *([str(Path(java_home) / "bin" / "javac")] if java_home else []),
        shutil.which("javac"),
        *sorted(glob.glob("/usr/lib/jvm/*/bin/javac")),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run([candidate, "--release", release, "-version"], capture_output=True, check=False)
            if probe.returncode == 0:
                return candidate
    return None


def main() -> int:
    """The checkout's Makefile: one application into one JAR, or the broken JARs from a good one."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    jar = commands.add_parser("jar", help="compile jars/apps/<name> into a JAR")
    jar.add_argument("app", type=Path)
    jar.add_argument("jar", type=Path)
    broken = commands.add_parser("broken", help="make the broken JARs from a good one")
    broken.add_argument("good", type=Path)
    broken.add_argument("out", type=Path)
    args = parser.parse_args()
    try:
        if args.command == "jar":
            build_jar(args.app, args.jar)
        else:
            make_broken_jars(args.good, args.out)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

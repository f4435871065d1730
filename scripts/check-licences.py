#!/usr/bin/env python3
"""Fail when a module under the Business Source License is in the Go build.

HashiCorp moved these modules from MPL-2.0 to BUSL-1.1 at the version given; their api/sdk
sub-modules stayed MPL-2.0 and are separate module paths, so they are not listed. The project
builds Nomad v1.6.3 and links its SDK: nothing of the list may enter the graph again.

    check-licences.py bin/nomad bin/plugins/nomad-driver-crunjar   # go version -m of binaries
    check-licences.py --module driver                              # go list -m all of a module

Prints one line per module checked of the list, then "no BUSL module" or each offender; exits 1
on an offender, 2 when it cannot read a binary or module.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

# module path -> first version under BUSL-1.1
BUSL_FROM = {
    "github.com/hashicorp/nomad": (1, 7, 0),
    "github.com/hashicorp/consul": (1, 17, 0),
    "github.com/hashicorp/vault": (1, 15, 0),
    "github.com/hashicorp/terraform": (1, 6, 0),
    "github.com/hashicorp/boundary": (0, 14, 0),
    "github.com/hashicorp/packer": (1, 10, 0),
    "github.com/hashicorp/waypoint": (0, 12, 0),
}
_RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:\+incompatible)?$")


def verdict(path: str, version: str) -> str | None:
    """Why ``path@version`` is not allowed, or None when it is (or is not a listed module)."""
    first = BUSL_FROM.get(path)
    if first is None:
        return None
    since = "v" + ".".join(map(str, first))
    match = _RELEASE.match(version)
    if match is None:
        # A pseudo-version or pre-release says nothing reliable about the licence of its commit.
        return f"{path} {version}: not a tagged release, so its licence cannot be told; pin a release before {since}"
    if tuple(int(part) for part in match.groups()) >= first:
        return f"{path} {version}: BUSL-1.1 from {since} on"
    return None


def modules_of_binary(binary: str) -> list[tuple[str, str]]:
    """The main module and dependencies ``go version -m`` reports, replacements resolved."""
    answer = subprocess.run(["go", "version", "-m", binary], capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        raise OSError(f"go version -m {binary}: {answer.stderr.strip() or answer.stdout.strip()}")
    found: list[tuple[str, str]] = []
    for line in answer.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] in ("mod", "dep"):
            found.append((fields[1], fields[2]))
        elif len(fields) >= 3 and fields[0] == "=>" and found:
            found[-1] = (fields[1], fields[2])
    return found


def modules_of_module(directory: str) -> list[tuple[str, str]]:
    """Every module of the build graph (``go list -m all``), replacements resolved."""
    answer = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}", "all"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        raise OSError(f"go list -m all in {directory}: {answer.stderr.strip()}")
    found = []
    for line in answer.stdout.splitlines():
        original, _, replaced = line.partition(" => ")
        path, _, version = (replaced or original).partition(" ")
        found.append((path, version))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="*", help="Go binaries to read with go version -m")
    parser.add_argument("--module", action="append", default=[], help="a Go module directory to read with go list")
    options = parser.parse_args()
    if not options.binaries and not options.module:
        parser.error("name a binary or --module")
    offenders = []
    try:
        sources = [(binary, modules_of_binary(binary)) for binary in options.binaries]
        sources += [(f"module {directory}", modules_of_module(directory)) for directory in options.module]
    except OSError as error:
        print(f"check-licences: {error}", file=sys.stderr)
        return 2
    for source, modules in sources:
        for path, version in modules:
            if path in BUSL_FROM:
                print(f"{source}: {path} {version}")
            problem = verdict(path, version)
            if problem:
                offenders.append(f"{source}: {problem}")
    for line in offenders:
        print(f"BUSL: {line}")
    if not offenders:
        print("no BUSL module")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())

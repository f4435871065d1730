#!/usr/bin/env python3
"""The public keyword API: every library's and shared resource file's keywords with their arguments.

``--check`` (the default) compares it with the committed snapshot ``utest/public-api.json`` and
prints what was added, changed or removed; ``--update`` writes the snapshot. A change to the
public API is deliberate: update the snapshot in the same commit as the CHANGELOG entry
(Added / Changed / Deprecated / Removed). ``make api-snapshot`` runs ``--update``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "utest" / "public-api.json"
# Every keyword library: the CamelCase packages of libraries/ (nomadtest is internal); none can be left out.
LIBRARIES = tuple(
    sorted(path.parent.name for path in (ROOT / "libraries").glob("*/__init__.py") if path.parent.name[0].isupper())
)
INIT = "(import)"


def keywords_of(source: str) -> dict[str, list[str]]:
    """Keyword name -> its arguments as libdoc shows them (``name: type = default``); the import's too."""
    from robot.libdoc import LibraryDocumentation

    doc = LibraryDocumentation(source)
    found = {INIT: [str(arg) for arg in doc.inits[0].args]} if doc.inits else {}
    found.update({keyword.name: [str(arg) for arg in keyword.args] for keyword in doc.keywords})
    return found


def public_api() -> dict[str, dict[str, list[str]]]:
    if str(ROOT / "libraries") not in sys.path:
        sys.path.insert(0, str(ROOT / "libraries"))
    api = {name: keywords_of(name) for name in LIBRARIES}
    for resource in sorted((ROOT / "resources").glob("*.resource")):
        api[f"resources/{resource.name}"] = keywords_of(str(resource))
    return api


def differences(old: dict, new: dict) -> list[str]:
    """One line per keyword added, removed or with other arguments, by library."""
    lines = []
    for library in sorted(old.keys() | new.keys()):
        before, after = old.get(library, {}), new.get(library, {})
        for name in sorted(before.keys() | after.keys()):
            if name not in after:
                lines.append(f"removed: {library}: {name}")
            elif name not in before:
                lines.append(f"added: {library}: {name}({', '.join(after[name])})")
            elif before[name] != after[name]:
                lines.append(f"changed: {library}: {name}({', '.join(before[name])}) -> ({', '.join(after[name])})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help=f"write {SNAPSHOT.relative_to(ROOT)}")
    options = parser.parse_args(argv)
    api = public_api()
    if options.update:
        SNAPSHOT.write_text(json.dumps(api, indent=1, sort_keys=True) + "\n")
        print(f"Wrote {SNAPSHOT.relative_to(ROOT)}: {sum(len(k) for k in api.values())} keywords and imports.")
        return 0
    changes = differences(json.loads(SNAPSHOT.read_text()), api)
    print("\n".join(changes) or "The public API matches the snapshot.")
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())

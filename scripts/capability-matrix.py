"""The capability matrix of a conformance run: per capability a test needs, how many passed, skipped, failed.

Reads robot's output.xml; a test without ``needs:<capability>`` tags counts as ``core``. Prints the
table and writes it beside the output as ``capabilities.md``. Exits 1 when any test failed.

    python3 scripts/capability-matrix.py results/conformance-java/output.xml
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

NEEDS = "needs:"
CORE = "core"


def matrix(output_xml: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"PASS": 0, "SKIP": 0, "FAIL": 0})
    for test in ET.parse(output_xml).getroot().iter("test"):
        status = test.find("status").get("status")
        tags = [tag.text or "" for tag in test.findall("tag")]
        needs = [tag[len(NEEDS) :] for tag in tags if tag.startswith(NEEDS)] or [CORE]
        for capability in needs:
            counts[capability][status] += 1
    return dict(counts)


def render(driver: str, counts: dict[str, dict[str, int]]) -> str:
    lines = [f"Capability matrix of driver '{driver}'", "", "| capability | pass | skip | fail |", "|---|---|---|---|"]
    for capability in sorted(counts, key=lambda name: (name != CORE, name)):
        row = counts[capability]
        lines.append(f"| {capability} | {row['PASS']} | {row['SKIP']} | {row['FAIL']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output_xml", type=Path)
    parser.add_argument("--driver", default="?")
    args = parser.parse_args()
    counts = matrix(args.output_xml)
    table = render(args.driver, counts)
    (args.output_xml.parent / "capabilities.md").write_text(table)
    print(table)
    return 1 if any(row["FAIL"] for row in counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

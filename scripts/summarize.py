"""Count the results of every test runner and print one closing `N passed, N failed` line.

Reads Robot Framework's output.xml files, pytest's JUnit XML and `go test -json`
output; missing files count as nothing run. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped)

    def __str__(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def robot_counts(output_xml: Path) -> Counts:
    total = ET.parse(output_xml).getroot().find("./statistics/total/stat")
    return Counts(int(total.get("pass", 0)), int(total.get("fail", 0)), int(total.get("skip", 0)))


def pytest_counts(junit_xml: Path) -> Counts:
    root = ET.parse(junit_xml).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    counts = Counts()
    for suite in suites:
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        counts += Counts(tests - failed - skipped, failed, skipped)
    return counts


def go_counts(test_json: Path, show_failures: bool = False) -> Counts:
    counts = Counts()
    output: dict[tuple[str, str], list[str]] = {}
    for line in test_json.read_text().splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        key = (event.get("Package", ""), event.get("Test", ""))
        action = event.get("Action")
        if action == "output":
            output.setdefault(key, []).append(event.get("Output", ""))
        elif action in ("pass", "fail", "skip") and key[1]:
            counts += Counts(action == "pass", action == "fail", action == "skip")
            if action == "fail" and show_failures:
                print(f"--- FAIL: {key[0]} {key[1]}\n{''.join(output.get(key, []))}")
        elif action == "fail" and show_failures and not key[1]:
            print(f"--- FAIL: package {key[0]}\n{''.join(output.get(key, []))}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--robot", type=Path, action="append", default=[], help="output.xml")
    parser.add_argument("--pytest", type=Path, action="append", default=[], help="JUnit XML")
    parser.add_argument("--go", type=Path, action="append", default=[], help="go test -json output")
    parser.add_argument("--show-failures", action="store_true", help="print the output of failed Go tests")
    args = parser.parse_args()
    readers = [(robot_counts, args.robot), (pytest_counts, args.pytest), (go_counts, args.go)]
    total = Counts()
    for reader, paths in readers:
        for path in paths:
            if not path.is_file():
                print(f"{path}: missing, counted as nothing run")
                continue
            counts = go_counts(path, args.show_failures) if reader is go_counts else reader(path)
            print(f"{path}: {counts}")
            total += counts
    print(total)
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main())

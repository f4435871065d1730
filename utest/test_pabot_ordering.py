"""pabot's ordering file: longest suites first, the timing suites together, short ones grouped."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pabot-ordering.py"
_spec = importlib.util.spec_from_file_location("pabot_ordering", SCRIPT)
ordering_script = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ordering_script
_spec.loader.exec_module(ordering_script)
ORDERING_FILE = SCRIPT.parents[1] / "suites" / "pabot-ordering.txt"


def test_longest_first_and_the_timing_suites_one_item_as_long_as_all_of_them():
    suites = [("a", 20.0, False), ("cpu", 60.0, True), ("b", 100.0, False), ("mem", 55.0, True), ("c", 16.0, False)]
    assert ordering_script.ordering(suites) == [["cpu", "mem"], ["b"], ["a"], ["c"]]


def test_short_suites_share_robot_processes_in_groups_of_limited_length_placed_by_their_total():
    suites = [("long", 40.0, False), ("a", 12.0, False), ("b", 10.0, False), ("c", 9.0, False), ("d", 2.0, False)]
    suites.append(("timed", 3.0, True))
    order = ordering_script.ordering(suites, group_under=15.0, group_seconds=25.0)
    assert order == [["long"], ["a", "b", "d"], ["c"], ["timed"]]


def robot_name(part: str) -> str:
    """Robot's suite name of a file or directory name."""
    name = part.removesuffix(".robot").replace("_", " ")
    return name.title() if name.islower() else name


def test_the_ordering_file_names_every_suite_once_in_pabots_syntax():
    suites_dir = SCRIPT.parents[1] / "suites"
    lines = [line for line in ORDERING_FILE.read_text().splitlines() if line not in ("{", "}")]
    assert len(lines) == len(set(lines))
    # Suites the file does not name would still run, but last: the order would lose its point.
    expected = {
        "--suite Suites." + ".".join(robot_name(part) for part in path.relative_to(suites_dir).parts)
        for path in suites_dir.rglob("*.robot")
        if path.name != "__init__.robot" and not any(part.startswith("_") for part in path.parts)
    }
    assert set(lines) == expected, "rewrite it with scripts/pabot-ordering.py (pabot takes no comments in it)"

"""scripts/check-shards.py: a merged sharded run has every test it selects exactly once."""

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_shards", REPO_ROOT / "scripts" / "check-shards.py")
check_shards = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_shards)


def test_disjoint_shards_merged_whole_have_no_problem():
    shards = {"1": ["S.a", "S.b"], "2": ["S.c"]}
    assert check_shards.problems(["S.a", "S.b", "S.c"], shards, ["S.a", "S.b", "S.c"]) == []


def test_a_test_merged_twice_is_named():
    shards = {"1": ["S.a"], "2": ["S.b"]}
    assert check_shards.problems(["S.a", "S.a", "S.b"], shards, None) == ["S.a: 2 times in the merged output"]


def test_a_test_run_by_two_shards_is_named_with_both():
    shards = {"shard-1": ["S.a"], "shard-2": ["S.a"]}
    assert check_shards.problems(["S.a"], shards, None) == ["S.a: ran in shard-1, shard-2"]


def test_a_shard_left_out_of_the_merge_is_found():
    assert check_shards.problems(["S.a"], {"1": ["S.a"], "2": ["S.b"]}, None) == [
        "S.b: ran in 2, not in the merged output"
    ]


def test_a_selected_test_no_shard_ran_is_found():
    assert check_shards.problems(["S.a"], {"1": ["S.a"]}, ["S.a", "S.b"]) == ["S.b: selected, but ran in no shard"]


def test_the_selection_is_what_robot_selects_with_the_same_options(tmp_path):
    (tmp_path / "shard_me.robot").write_text(
        "*** Test Cases ***\nFast\n    [Tags]    area:happy\n    No Operation\nSlow\n    No Operation\n"
    )
    selection = ["--include", "area:happy", str(tmp_path / "shard_me.robot")]
    assert check_shards.selected(selection) == ["Fast"]

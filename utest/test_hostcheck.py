import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import hostcheck


def mountinfo(v2_mount: Path, with_v1: bool) -> str:
    lines = [f"30 25 0:26 / {v2_mount} rw,relatime shared:5 - cgroup2 cgroup2 rw"]
    if with_v1:
        lines.append("31 25 0:27 / /sys/fs/cgroup/memory rw,relatime shared:6 - cgroup cgroup rw,memory")
    return "\n".join(lines) + "\n"


def test_hybrid_layout_with_a_v2_controller_blocks_crun_and_names_the_fix(tmp_path):
    layout = hostcheck.CgroupLayout("hybrid", tmp_path, ["hugetlb"])
    assert not layout.crun_compatible
    assert hostcheck.fix_command("hugetlb") == (
        "mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb"
    )


def test_layouts_are_told_apart_from_mountinfo(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("hugetlb\n")
    hybrid = hostcheck.read_cgroup_layout(mountinfo(tmp_path, with_v1=True))
    assert (hybrid.mode, hybrid.v2_controllers, hybrid.crun_compatible) == ("hybrid", ["hugetlb"], False)
    unified = hostcheck.read_cgroup_layout(mountinfo(tmp_path, with_v1=False))
    assert (unified.mode, unified.crun_compatible) == ("unified", True)
    (tmp_path / "cgroup.controllers").write_text("\n")
    assert hostcheck.read_cgroup_layout(mountinfo(tmp_path, with_v1=True)).crun_compatible


def test_doctor_reports_the_blocking_controller_with_its_fix(tmp_path, monkeypatch):
    layout = hostcheck.CgroupLayout("hybrid", tmp_path, ["hugetlb"])
    monkeypatch.setattr(hostcheck, "read_cgroup_layout", lambda: layout)
    check = hostcheck.check_cgroups()
    assert not check.ok
    assert "hugetlb" in check.detail
    assert "make deps" in str(check) and "mount -t cgroup -o hugetlb" in str(check)

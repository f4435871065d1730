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


def test_java_matrix_prints_each_version_and_names_the_fix_for_a_missing_one(tmp_path, monkeypatch):
    working, missing = tmp_path / "21", tmp_path / "11"
    (working / "bin").mkdir(parents=True)
    java = working / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"21.0.8\" 2025-07-15 LTS' >&2\n")
    java.chmod(0o755)
    monkeypatch.setattr(hostcheck, "profile_java_runtimes", lambda: [missing, working])
    lines = [str(check) for check in hostcheck.check_java_matrix()]
    assert lines[0].startswith(f"[FAIL] Java 11: {missing}/bin/java is missing")
    assert "fix: make deps (scripts/install-jdks.sh)" in lines[0]
    assert lines[1] == f'[ OK ] Java 21: openjdk version "21.0.8" 2025-07-15 LTS ({working} -> {working})'


def test_the_crunjar_profile_lists_one_java_home_per_matrix_version():
    assert [home.name for home in hostcheck.profile_java_runtimes()] == ["11", "17", "21", "25"]


def test_doctor_names_the_nomad_licence_and_whether_ci_proves_it():
    assert hostcheck.nomad_licence("Nomad v1.6.3") == "MPL-2.0, the version CI proves"
    assert hostcheck.nomad_licence("Nomad v1.11.3").startswith("BUSL-1.1, newer than the 1.6.3 CI proves")
    assert hostcheck.nomad_licence("Nomad v1.5.0").startswith("MPL-2.0, older")
    assert hostcheck.nomad_licence("something else") == "version not recognised"

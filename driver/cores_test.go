package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
)

func TestCountCPUs(t *testing.T) {
	for list, want := range map[string]int{
		"0": 1, "0-3": 4, "0-3,6,8-9": 7, "": 0, "3-1": 0, "a": 0,
	} {
		if got := countCPUs(list); got != want {
			t.Errorf("countCPUs(%q) = %d, want %d", list, got, want)
		}
	}
}

// fakeCgroup writes a cpuset file into a directory made under root.
func fakeCgroup(t *testing.T, root, rel, file, cpus string) string {
	t.Helper()
	dir := filepath.Join(root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if cpus != "" {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(cpus+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A client with `reserved { cores = 1 }` on a 4-core node gives tasks 3
// cores; the task's own cgroup may hold fewer (other tasks reserved some).
func TestUsableCoresFromNomadCgroups(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		layout, file, parent, task string
	}{
		{"v2 1.7+", "cpuset.cpus.effective", "nomad.slice", "nomad.slice/share.slice/a1.web.scope"},
		{"v2 1.6", "cpuset.cpus.effective", "nomad16.slice", "nomad16.slice/a1.web.scope"},
		{"v1", "cpuset.effective_cpus", "cpuset/nomad", "cpuset/nomad/shared/a1-web"},
	}
	for _, c := range cases {
		fakeCgroup(t, root, c.parent, c.file, "1-3")
		task := fakeCgroup(t, root, c.task, c.file, "2-3")
		r := &drivers.Resources{LinuxResources: &drivers.LinuxResources{CpusetCgroupPath: task}}
		if got := usableCores(r); got != 3 {
			t.Errorf("%s: usableCores = %d, want 3", c.layout, got)
		}
	}
}

func TestUsableCoresWithoutCgroup(t *testing.T) {
	for _, r := range []*drivers.Resources{
		nil,
		{LinuxResources: &drivers.LinuxResources{}},
		{LinuxResources: &drivers.LinuxResources{CpusetCgroupPath: filepath.Join(t.TempDir(), "gone/task")}},
	} {
		if got := usableCores(r); got != runtime.NumCPU() {
			t.Errorf("usableCores(%+v) = %d, want every online core (%d)", r, got, runtime.NumCPU())
		}
	}
}

// The quota and the stats ticks of a task follow the usable cores: with
// cpu = 1500 on 3 usable cores of 2000 MHz, one core is 2000 MHz and the task
// may use three quarters of one.
func TestQuotaAndCoreMHzFollowUsableCores(t *testing.T) {
	r := &drivers.Resources{
		NomadResources: &structs.AllocatedTaskResources{Cpu: structs.AllocatedCpuResources{CpuShares: 1500}},
		LinuxResources: &drivers.LinuxResources{PercentTicks: 1500.0 / 6000, CPUPeriod: 100000},
	}
	if got := coreMHz(r, 3); got != 2000 {
		t.Errorf("coreMHz = %v, want 2000", got)
	}
	if quota, _, err := cpuQuota(r, 0, 3); err != nil || quota != 75000 {
		t.Errorf("quota = %d (%v), want 75000 (three quarters of one core)", quota, err)
	}
	if got := coreMHz(&drivers.Resources{}, 3); got != 0 {
		t.Errorf("coreMHz without a share = %v, want 0", got)
	}
}

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// nomadPartitions are the cpuset cgroups Nomad's client splits its cores
// into (v1: shared/reserved, v2: share.slice/reserve.slice). The cgroup
// above them holds every core the client gives tasks.
var nomadPartitions = map[string]bool{
	"shared": true, "reserved": true, "share.slice": true, "reserve.slice": true,
}

// usableCores is how many cores the client gives tasks, read from the cpuset
// of the cgroup Nomad placed the task under: the node's cores less those
// reserved for the node (`client { reserved { cores } }`). The driver SDK
// of Nomad 1.6 carries no CPU topology, so the cgroup is the one source
// that holds on every agent version. Without one, every online core counts.
func usableCores(r *drivers.Resources) int {
	if r != nil && r.LinuxResources != nil && r.LinuxResources.CpusetCgroupPath != "" {
		if n := cpusetSize(nomadCoresCgroup(r.LinuxResources.CpusetCgroupPath)); n > 0 {
			return n
		}
	}
	return runtime.NumCPU()
}

// nomadCoresCgroup is the directory whose cpuset spans every task core: the
// task cgroup's parent, or its grandparent when the parent is a partition.
func nomadCoresCgroup(taskCgroup string) string {
	if !filepath.IsAbs(taskCgroup) {
		if hs, err := cgroupHierarchies(); err == nil {
			if dir, ok := cgroupDir(hs, "cpuset", taskCgroup); ok {
				taskCgroup = dir
			}
		}
	}
	dir := filepath.Dir(taskCgroup)
	if nomadPartitions[filepath.Base(dir)] {
		dir = filepath.Dir(dir)
	}
	return dir
}

// cpusetSize counts the CPUs of a cgroup's effective cpuset (v2, then v1
// names); 0 when none can be read.
func cpusetSize(dir string) int {
	for _, name := range []string{"cpuset.cpus.effective", "cpuset.effective_cpus", "cpuset.cpus"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if n := countCPUs(strings.TrimSpace(string(data))); n > 0 {
			return n
		}
	}
	return 0
}

// countCPUs counts a cpuset list such as "0-3,6,8-9"; 0 when malformed.
func countCPUs(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0
			}
		}
		n += b - a + 1
	}
	return n
}

// coreMHz is the compute Nomad counts for one core. PercentTicks is the
// task's cpu over the node compute Nomad divides by, which spans the usable
// cores; 0 when Nomad passed no share.
func coreMHz(r *drivers.Resources, cores int) float64 {
	if r == nil || r.NomadResources == nil || r.LinuxResources == nil || r.LinuxResources.PercentTicks <= 0 || cores <= 0 {
		return 0
	}
	return float64(r.NomadResources.Cpu.CpuShares) / r.LinuxResources.PercentTicks / float64(cores)
}

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// cgroupHierarchy is one mounted cgroup filesystem: a v1 hierarchy with its
// controllers, or the v2 unified hierarchy.
type cgroupHierarchy struct {
	Mount       string
	V2          bool
	Controllers []string
}

// mountinfoPath is a variable so tests can feed a fake mount table.
var mountinfoPath = "/proc/self/mountinfo"

// cgroupHierarchies lists the host's cgroup mounts. crun creates the
// container's cgroup in every one of them, so all are needed for cleanup.
func cgroupHierarchies() ([]cgroupHierarchy, error) {
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupHierarchy
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// "<id> <parent> <dev> <root> <mountpoint> <opts> [tags] - <fstype> <source> <superopts>"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, sf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(sf) < 3 {
			continue
		}
		switch sf[0] {
		case "cgroup2":
			out = append(out, cgroupHierarchy{Mount: pf[4], V2: true})
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(sf[2], ",") {
				switch o {
				case "rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children", "xattr", "noprefix", "cpuset_v2_mode":
				default:
					ctrls = append(ctrls, o)
				}
			}
			out = append(out, cgroupHierarchy{Mount: pf[4], Controllers: ctrls})
		}
	}
	return out, sc.Err()
}

// cgroupDir returns the directory of rel (a cgroupsPath such as
// "/crunjar/<id>") in the hierarchy holding controller; on a v2-only host
// the unified hierarchy holds every controller.
func cgroupDir(hs []cgroupHierarchy, controller, rel string) (string, bool) {
	for _, h := range hs {
		if !h.V2 && slices.Contains(h.Controllers, controller) {
			return filepath.Join(h.Mount, rel), true
		}
	}
	for _, h := range hs {
		if !h.V2 {
			continue
		}
		ctrls, err := os.ReadFile(filepath.Join(h.Mount, "cgroup.controllers"))
		if err == nil && slices.Contains(strings.Fields(string(ctrls)), controller) {
			return filepath.Join(h.Mount, rel), true
		}
	}
	return "", false
}

// oomKillCount reads how many processes the kernel OOM killer killed in the
// container's memory cgroup (v1 memory.oom_control or v2 memory.events).
func oomKillCount(rel string) (uint64, error) {
	hs, err := cgroupHierarchies()
	if err != nil {
		return 0, err
	}
	dir, ok := cgroupDir(hs, "memory", rel)
	if !ok {
		return 0, fmt.Errorf("no memory cgroup controller mounted")
	}
	for _, name := range []string{"memory.oom_control", "memory.events"} {
		kv, err := readKeyValues(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if n, ok := kv["oom_kill"]; ok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("no oom_kill counter in %s", dir)
}

// readKeyValues parses "key value" lines such as memory.stat.
func readKeyValues(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = n
		}
	}
	return out, nil
}

func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
}

// removeCgroup deletes the container's cgroup directory from every
// hierarchy. Missing directories are fine; busy ones are retried briefly
// because the kernel frees a cgroup shortly after its last task exits.
func removeCgroup(rel string) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		if err := removeCgroupDir(filepath.Join(h.Mount, rel)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroupDir(dir string) error {
	// Children first: a cgroup directory can only be removed when empty.
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for try := 0; try < 50; try++ {
			err = os.Remove(dirs[i])
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				err = nil
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("removing cgroup %s: %w", dirs[i], err)
		}
	}
	return nil
}

// cpuSample is cumulative CPU time in nanoseconds.
type cpuSample struct {
	total, user, system float64
	at                  time.Time
}

// cgroupStats reads memory and CPU usage of the container's cgroup.
func cgroupStats(rel string) (*drivers.ResourceUsage, cpuSample, error) {
	hs, err := cgroupHierarchies()
	if err != nil {
		return nil, cpuSample{}, err
	}
	mem := &drivers.MemoryStats{}
	cpu := &drivers.CpuStats{}
	sample := cpuSample{at: time.Now()}

	if dir, ok := cgroupDir(hs, "memory", rel); ok {
		if _, err := os.Stat(dir); err != nil {
			return nil, cpuSample{}, err
		}
		if v, err := readUint(filepath.Join(dir, "memory.usage_in_bytes")); err == nil {
			// cgroup v1
			mem.Usage = v
			mem.MaxUsage, _ = readUint(filepath.Join(dir, "memory.max_usage_in_bytes"))
			st, _ := readKeyValues(filepath.Join(dir, "memory.stat"))
			mem.RSS, mem.Cache, mem.Swap, mem.MappedFile = st["total_rss"], st["total_cache"], st["total_swap"], st["total_mapped_file"]
			mem.Measured = []string{"RSS", "Cache", "Swap", "Mapped File", "Usage", "Max Usage"}
		} else if v, err := readUint(filepath.Join(dir, "memory.current")); err == nil {
			mem.Usage = v
			mem.Measured = []string{"RSS", "Cache", "Swap", "Mapped File", "Usage"}
			if peak, err := readUint(filepath.Join(dir, "memory.peak")); err == nil {
				mem.MaxUsage = peak
				mem.Measured = append(mem.Measured, "Max Usage")
			}
			st, _ := readKeyValues(filepath.Join(dir, "memory.stat"))
			mem.RSS, mem.Cache, mem.MappedFile = st["anon"], st["file"], st["file_mapped"]
			mem.Swap, _ = readUint(filepath.Join(dir, "memory.swap.current"))
		}
	}

	if dir, ok := cgroupDir(hs, "cpuacct", rel); ok {
		if v, err := readUint(filepath.Join(dir, "cpuacct.usage")); err == nil {
			sample.total = float64(v)
		}
		// cpuacct.stat counts USER_HZ (100 per second) ticks.
		st, _ := readKeyValues(filepath.Join(dir, "cpuacct.stat"))
		sample.user = float64(st["user"]) * 1e7
		sample.system = float64(st["system"]) * 1e7
		if cdir, ok := cgroupDir(hs, "cpu", rel); ok {
			cs, _ := readKeyValues(filepath.Join(cdir, "cpu.stat"))
			cpu.ThrottledPeriods, cpu.ThrottledTime = cs["nr_throttled"], cs["throttled_time"]
		}
	} else if dir, ok := cgroupDir(hs, "cpu", rel); ok {
		cs, _ := readKeyValues(filepath.Join(dir, "cpu.stat"))
		sample.total = float64(cs["usage_usec"]) * 1e3
		sample.user = float64(cs["user_usec"]) * 1e3
		sample.system = float64(cs["system_usec"]) * 1e3
		cpu.ThrottledPeriods, cpu.ThrottledTime = cs["nr_throttled"], cs["throttled_usec"]*1e3
	}
	cpu.Measured = []string{"System Mode", "User Mode", "Percent", "Total Ticks", "Throttled Periods", "Throttled Time"}
	return &drivers.ResourceUsage{MemoryStats: mem, CpuStats: cpu}, sample, nil
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/plugins/drivers"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultPath is the PATH of a container process whose environment sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// hostSystemDirs are bound read-only into every container; with an empty
// rootfs they are all the JVM sees of the host.
var hostSystemDirs = []string{"/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc"}

// bindMount is a host path bound into the container.
type bindMount struct {
	Source, Destination string
	ReadOnly            bool
}

// containerSpec is everything needed to write a task's OCI config.json.
type containerSpec struct {
	Args           []string
	Env            []string
	UID, GID       uint32
	AdditionalGids []uint32
	Caps           []string
	JDKHome        string
	AllocDir       string // shared alloc dir, mounted at /alloc
	LocalDir       string // mounted at /local
	SecretsDir     string // mounted at /secrets
	Mounts         []bindMount
	CgroupsPath    string
	MemoryLimit    int64 // bytes; 0 means unlimited
	MemoryReserve  int64 // bytes; 0 means none
	CPUShares      uint64
	CPUQuota       int64  // microseconds per CPUPeriod; 0 means no hard limit
	CPUPeriod      uint64 // microseconds
	CpusetCpus     string
	NetNSPath      string // join this network namespace instead of the host's
	WritableRootfs bool
	Seccomp        *specs.LinuxSeccomp
	// NewPrivileges lets setuid binaries and file capabilities raise
	// privileges (no no_new_privileges).
	NewPrivileges bool
}

// systemDirsPresent returns the hostSystemDirs that exist on this host.
func systemDirsPresent() []string {
	var out []string
	for _, d := range hostSystemDirs {
		if _, err := os.Stat(d); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// underAny reports whether path is one of dirs or below one of them.
func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// buildSpec writes the OCI runtime spec for a task container.
func buildSpec(cs *containerSpec, systemDirs []string) *specs.Spec {
	roBind := []string{"rbind", "ro", "nosuid", "nodev"}
	rwBind := []string{"rbind", "rw", "nosuid", "nodev"}

	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		// The JVM sizes its heap and thread pools from the cgroup limits it
		// finds here.
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
	for _, d := range systemDirs {
		mounts = append(mounts, specs.Mount{Destination: d, Type: "bind", Source: d, Options: roBind})
	}
	mounts = append(mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}})
	if cs.JDKHome != "" && !underAny(cs.JDKHome, systemDirs) {
		mounts = append(mounts, specs.Mount{Destination: cs.JDKHome, Type: "bind", Source: cs.JDKHome, Options: roBind})
	}
	// The fingerprint's probe container has no task directories.
	for _, m := range []struct{ dst, src string }{{"/alloc", cs.AllocDir}, {"/local", cs.LocalDir}, {"/secrets", cs.SecretsDir}} {
		if m.src != "" {
			mounts = append(mounts, specs.Mount{Destination: m.dst, Type: "bind", Source: m.src, Options: rwBind})
		}
	}
	// Extra mounts may land inside the ones above, so parents go first.
	extra := append([]bindMount(nil), cs.Mounts...)
	sort.SliceStable(extra, func(i, j int) bool {
		return strings.Count(extra[i].Destination, "/") < strings.Count(extra[j].Destination, "/")
	})
	for _, m := range extra {
		opts := rwBind
		if m.ReadOnly {
			opts = roBind
		}
		mounts = append(mounts, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts})
	}

	namespaces := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.UTSNamespace},
	}
	if cs.NetNSPath != "" {
		namespaces = append(namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: cs.NetNSPath})
	}

	resources := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if cs.MemoryLimit > 0 {
		limit := cs.MemoryLimit
		// Swap equal to the limit means no swap: the task is OOM killed at
		// its limit instead of paging.
		resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
		if cs.MemoryReserve > 0 {
			reserve := cs.MemoryReserve
			resources.Memory.Reservation = &reserve
		}
	}
	if cs.CPUShares > 0 || cs.CpusetCpus != "" || cs.CPUQuota > 0 {
		resources.CPU = &specs.LinuxCPU{Cpus: cs.CpusetCpus}
		if cs.CPUShares > 0 {
			shares := cs.CPUShares
			resources.CPU.Shares = &shares
		}
		// crun writes these to cpu.cfs_quota_us/cpu.cfs_period_us on
		// cgroup v1 and to cpu.max on v2.
		if cs.CPUQuota > 0 {
			quota, period := cs.CPUQuota, cs.CPUPeriod
			resources.CPU.Quota, resources.CPU.Period = &quota, &period
		}
	}

	caps := append([]string{}, cs.Caps...)
	return &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{
			User: specs.User{UID: cs.UID, GID: cs.GID, AdditionalGids: cs.AdditionalGids},
			Args: cs.Args,
			Env:  cs.Env,
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Permitted: caps,
				Effective: caps,
			},
			NoNewPrivileges: !cs.NewPrivileges,
		},
		Root:   &specs.Root{Path: "rootfs", Readonly: !cs.WritableRootfs},
		Mounts: mounts,
		Linux: &specs.Linux{
			CgroupsPath: cs.CgroupsPath,
			Resources:   resources,
			Namespaces:  namespaces,
			Seccomp:     cs.Seccomp,
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// taskPaths maps task config paths to host paths and container paths.
type taskPaths struct {
	TaskDir, AllocDir, LocalDir, SecretsDir string
}

// resolve maps a jar_path or class_path entry. Relative paths are relative
// to the task directory, as with Nomad's java driver. Paths in /local,
// /secrets and /alloc are already mounted; any other path needs a read-only
// bind of host onto ctr.
func (tp taskPaths) resolve(p string) (host, ctr string, needsMount bool) {
	rel := !filepath.IsAbs(p)
	ctr = filepath.Clean("/" + p)
	for prefix, dir := range map[string]string{"/local": tp.LocalDir, "/secrets": tp.SecretsDir, "/alloc": tp.AllocDir} {
		if ctr == prefix || strings.HasPrefix(ctr, prefix+"/") {
			return filepath.Join(dir, strings.TrimPrefix(ctr, prefix)), ctr, false
		}
	}
	if rel {
		return filepath.Join(tp.TaskDir, ctr), ctr, true
	}
	return ctr, ctr, true
}

// resourceLimits converts Nomad's resources into cgroup limits: the memory
// limit is memory_max when set (with memory as the reservation), else memory.
func resourceLimits(r *drivers.Resources) (limit, reserve int64, shares uint64, cpuset string) {
	if r == nil || r.NomadResources == nil {
		return 0, 0, 0, ""
	}
	const mb = 1024 * 1024
	mem := r.NomadResources.Memory
	if mem.MemoryMaxMB > 0 {
		limit, reserve = mem.MemoryMaxMB*mb, mem.MemoryMB*mb
	} else {
		limit = mem.MemoryMB * mb
	}
	if r.NomadResources.Cpu.CpuShares > 0 {
		shares = uint64(r.NomadResources.Cpu.CpuShares)
	}
	if r.LinuxResources != nil {
		if r.LinuxResources.CPUShares > 0 {
			shares = uint64(r.LinuxResources.CPUShares)
		}
		cpuset = r.LinuxResources.CpusetCpus
	}
	return limit, reserve, shares, cpuset
}

const (
	// Bounds the kernel puts on a CFS period; the quota has the same minimum.
	minCFSPeriod     = 1000
	maxCFSPeriod     = 1000000
	defaultCFSPeriod = 100000
)

// cpuQuota turns the task's cpu into a CFS quota: its share of the node's
// compute (Nomad's PercentTicks) of every core's period, so cpu = 500 on a
// 2 x 2500 MHz node may use 0.2 cores. period 0 takes Nomad's CPUPeriod or
// the kernel default.
func cpuQuota(r *drivers.Resources, period int64, numCores int) (quota int64, per uint64, err error) {
	if r == nil || r.LinuxResources == nil || r.LinuxResources.PercentTicks <= 0 {
		return 0, 0, fmt.Errorf("cpu_hard_limit needs the task's share of the node's CPU, which Nomad did not pass")
	}
	if period == 0 {
		period = r.LinuxResources.CPUPeriod
	}
	if period == 0 {
		period = defaultCFSPeriod
	}
	quota = int64(r.LinuxResources.PercentTicks * float64(period) * float64(numCores))
	// A quota below the kernel's minimum is rejected, not rounded.
	quota = max(quota, minCFSPeriod)
	return quota, uint64(period), nil
}

// taskEnv is Nomad's task environment plus JAVA_HOME and the JDK on PATH.
func taskEnv(cfg *drivers.TaskConfig, home string) []string {
	env := map[string]string{}
	for k, v := range cfg.Env {
		env[k] = v
	}
	for k, v := range cfg.DeviceEnv {
		env[k] = v
	}
	path := env["PATH"]
	if path == "" {
		path = defaultPath
	}
	env["PATH"] = filepath.Join(home, "bin") + ":" + path
	env["JAVA_HOME"] = home
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// prepareSpec turns a task into a container spec, validating everything a
// user can get wrong before anything is created on the host.
func (d *Driver) prepareSpec(cfg *drivers.TaskConfig, tc *TaskConfig, id string) (*containerSpec, error) {
	if err := tc.validate(); err != nil {
		return nil, err
	}
	caps, err := taskCaps(d.config.AllowCaps, tc.CapAdd, tc.CapDrop)
	if err != nil {
		return nil, err
	}
	j, err := d.jdks.selectJDK(tc, d.config.DefaultJavaVersion)
	if err != nil {
		return nil, err
	}
	userName := cfg.User
	if userName == "" {
		userName = d.config.DefaultUser
	}
	u, err := lookupUser(userName)
	if err != nil {
		return nil, err
	}

	td := cfg.TaskDir()
	paths := taskPaths{TaskDir: td.Dir, AllocDir: td.SharedAllocDir, LocalDir: td.LocalDir, SecretsDir: td.SecretsDir}
	for _, dir := range []string{td.LocalDir, td.SecretsDir} {
		if err := ensureAccess(dir, filepath.Base(dir)+"/", u, 7, true); err != nil {
			return nil, err
		}
	}

	sysDirs := systemDirsPresent()
	cs := &containerSpec{
		Env:            taskEnv(cfg, j.Home),
		UID:            u.UID,
		GID:            u.GID,
		AdditionalGids: u.Groups,
		Caps:           caps,
		JDKHome:        j.Home,
		AllocDir:       td.SharedAllocDir,
		LocalDir:       td.LocalDir,
		SecretsDir:     td.SecretsDir,
		CgroupsPath:    "/" + d.config.CgroupParent + "/" + id,
		WritableRootfs: tc.WritableRootfs,
		NewPrivileges:  tc.AllowPrivilegeEscalation,
	}
	if d.faults.has(faultDropEnv) {
		// Only what the driver sets itself (JAVA_HOME, PATH) reaches the
		// JVM, which therefore still starts; the task's env does not.
		cs.Env = taskEnv(&drivers.TaskConfig{}, j.Home)
	}
	if d.faults.has(faultNoAllocMount) {
		// The container gets no /alloc.
		cs.AllocDir = ""
	}
	if cs.Seccomp, err = seccompProfile(tc.Seccomp); err != nil {
		return nil, err
	}
	cs.MemoryLimit, cs.MemoryReserve, cs.CPUShares, cs.CpusetCpus = resourceLimits(cfg.Resources)
	if tc.CPUHardLimit {
		if cs.CPUQuota, cs.CPUPeriod, err = cpuQuota(cfg.Resources, tc.CPUCFSPeriod, usableCores(cfg.Resources)); err != nil {
			return nil, err
		}
	}
	if cfg.NetworkIsolation != nil && cfg.NetworkIsolation.Path != "" {
		cs.NetNSPath = cfg.NetworkIsolation.Path
	}
	for _, m := range cfg.Mounts {
		cs.Mounts = append(cs.Mounts, bindMount{Source: m.HostPath, Destination: filepath.Clean("/" + m.TaskPath), ReadOnly: m.Readonly})
	}
	addMount := func(host, ctr string) {
		if underAny(ctr, sysDirs) || underAny(ctr, []string{j.Home}) {
			return
		}
		for _, m := range cs.Mounts {
			if m.Destination == ctr {
				return
			}
		}
		cs.Mounts = append(cs.Mounts, bindMount{Source: host, Destination: ctr, ReadOnly: true})
	}

	jarPath := tc.JarPath
	if jarPath == "" && tc.Class == "" {
		if jarPath, err = findLocalJar(td.LocalDir); err != nil {
			return nil, err
		}
	}
	var jarCtr string
	if jarPath != "" {
		host, ctr, needsMount := paths.resolve(jarPath)
		if err := validateJar(host, jarPath, tc.Class == ""); err != nil {
			return nil, err
		}
		if err := ensureAccess(host, jarPath, u, 4, !needsMount || strings.HasPrefix(host, td.Dir+"/")); err != nil {
			return nil, err
		}
		if needsMount {
			addMount(host, ctr)
		}
		jarCtr = ctr
	}
	// Class path entries outside the task directories are made visible too;
	// "dir/*" wildcards need the directory.
	if tc.ClassPath != "" {
		for _, entry := range strings.Split(tc.ClassPath, ":") {
			entry = strings.TrimSuffix(entry, "*")
			if entry == "" {
				continue
			}
			host, ctr, needsMount := paths.resolve(entry)
			if _, err := os.Stat(host); err == nil && needsMount {
				addMount(host, ctr)
			}
		}
	}
	cs.Args = javaArgs(j.Home, tc, jarCtr)
	return cs, nil
}

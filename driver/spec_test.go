package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func testContainerSpec() *containerSpec {
	return &containerSpec{
		Args:           []string{"/opt/jdk/bin/java", "-jar", "/local/app.jar"},
		Env:            []string{"A=1"},
		UID:            65534,
		GID:            65534,
		AdditionalGids: []uint32{100},
		Caps:           []string{"CAP_CHOWN", "CAP_KILL"},
		JDKHome:        "/opt/jdk",
		AllocDir:       "/var/nomad/alloc/a1/alloc",
		LocalDir:       "/var/nomad/alloc/a1/web/local",
		SecretsDir:     "/var/nomad/alloc/a1/web/secrets",
		Mounts: []bindMount{
			{Source: "/srv/data/app.jar", Destination: "/srv/data/app.jar", ReadOnly: true},
			{Source: "/host/vol", Destination: "/local/vol"},
		},
		CgroupsPath:   "/crunjar/crunjar-a1-web",
		MemoryLimit:   512 << 20,
		MemoryReserve: 256 << 20,
		CPUShares:     500,
	}
}

func mountByDest(s *specs.Spec, dest string) (specs.Mount, int) {
	for i, m := range s.Mounts {
		if m.Destination == dest {
			return m, i
		}
	}
	return specs.Mount{}, -1
}

func TestBuildSpec(t *testing.T) {
	s := buildSpec(testContainerSpec(), []string{"/usr", "/bin", "/etc"})

	if !s.Root.Readonly || s.Root.Path != "rootfs" {
		t.Errorf("root: %+v", s.Root)
	}
	p := s.Process
	if p.User.UID != 65534 || p.User.GID != 65534 || !reflect.DeepEqual(p.User.AdditionalGids, []uint32{100}) {
		t.Errorf("user: %+v", p.User)
	}
	if p.Cwd != "/" || !p.NoNewPrivileges || p.Terminal {
		t.Errorf("process: cwd %q nnp %v terminal %v", p.Cwd, p.NoNewPrivileges, p.Terminal)
	}
	if !reflect.DeepEqual(p.Args, []string{"/opt/jdk/bin/java", "-jar", "/local/app.jar"}) || !reflect.DeepEqual(p.Env, []string{"A=1"}) {
		t.Errorf("args/env: %v %v", p.Args, p.Env)
	}
	caps := []string{"CAP_CHOWN", "CAP_KILL"}
	if !reflect.DeepEqual(p.Capabilities.Bounding, caps) || !reflect.DeepEqual(p.Capabilities.Permitted, caps) ||
		!reflect.DeepEqual(p.Capabilities.Effective, caps) || len(p.Capabilities.Ambient) != 0 || len(p.Capabilities.Inheritable) != 0 {
		t.Errorf("caps: %+v", p.Capabilities)
	}

	var ns []string
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, string(n.Type))
	}
	if strings.Join(ns, ",") != "pid,ipc,mount,uts" {
		t.Errorf("namespaces: %v (the host network must be kept)", ns)
	}
	if s.Linux.CgroupsPath != "/crunjar/crunjar-a1-web" {
		t.Errorf("cgroups path %q", s.Linux.CgroupsPath)
	}
	mem := s.Linux.Resources.Memory
	if *mem.Limit != 512<<20 || *mem.Reservation != 256<<20 || *mem.Swap != 512<<20 {
		t.Errorf("memory: limit %d reservation %d swap %d", *mem.Limit, *mem.Reservation, *mem.Swap)
	}
	if *s.Linux.Resources.CPU.Shares != 500 {
		t.Errorf("cpu shares %d", *s.Linux.Resources.CPU.Shares)
	}

	for _, c := range []struct {
		dest, src, typ string
		ro             bool
	}{
		{"/usr", "/usr", "bind", true},
		{"/bin", "/bin", "bind", true},
		{"/etc", "/etc", "bind", true},
		{"/opt/jdk", "/opt/jdk", "bind", true},
		{"/alloc", "/var/nomad/alloc/a1/alloc", "bind", false},
		{"/local", "/var/nomad/alloc/a1/web/local", "bind", false},
		{"/secrets", "/var/nomad/alloc/a1/web/secrets", "bind", false},
		{"/srv/data/app.jar", "/srv/data/app.jar", "bind", true},
		{"/local/vol", "/host/vol", "bind", false},
		{"/tmp", "tmpfs", "tmpfs", false},
		{"/proc", "proc", "proc", false},
		{"/sys", "sysfs", "sysfs", true},
		{"/dev", "tmpfs", "tmpfs", false},
		{"/dev/pts", "devpts", "devpts", false},
		{"/dev/shm", "shm", "tmpfs", false},
		{"/dev/mqueue", "mqueue", "mqueue", false},
	} {
		m, i := mountByDest(s, c.dest)
		if i < 0 {
			t.Errorf("no mount at %s", c.dest)
			continue
		}
		if m.Source != c.src || m.Type != c.typ || contains(m.Options, "ro") != c.ro {
			t.Errorf("mount %s: %+v", c.dest, m)
		}
		if m.Type == "bind" && !contains(m.Options, "rbind") {
			t.Errorf("mount %s is not a recursive bind: %v", c.dest, m.Options)
		}
	}
	if _, i := mountByDest(s, "/lib64"); i >= 0 {
		t.Error("only existing system dirs are mounted")
	}
	// Parents before children.
	if _, local := mountByDest(s, "/local"); local > func() int { _, i := mountByDest(s, "/local/vol"); return i }() {
		t.Error("/local/vol is mounted before /local")
	}
}

func TestBuildSpec_Variants(t *testing.T) {
	cs := testContainerSpec()
	cs.JDKHome = "/usr/lib/jvm/jdk-17"
	cs.MemoryReserve = 0
	cs.CpusetCpus = "1"
	cs.NetNSPath = "/var/run/netns/alloc"
	s := buildSpec(cs, []string{"/usr"})
	if _, i := mountByDest(s, "/usr/lib/jvm/jdk-17"); i >= 0 {
		t.Error("a JDK under /usr is visible through /usr already")
	}
	if s.Linux.Resources.Memory.Reservation != nil {
		t.Error("no reservation without memory_max")
	}
	if s.Linux.Resources.CPU.Cpus != "1" {
		t.Error("cpuset")
	}
	last := s.Linux.Namespaces[len(s.Linux.Namespaces)-1]
	if last.Type != specs.NetworkNamespace || last.Path != "/var/run/netns/alloc" {
		t.Errorf("network namespace: %+v", last)
	}

	cs = testContainerSpec()
	cs.MemoryLimit, cs.CPUShares = 0, 0
	s = buildSpec(cs, nil)
	if s.Linux.Resources.Memory != nil || s.Linux.Resources.CPU != nil {
		t.Error("no limits requested")
	}
}

func TestBuildSpec_CPUHardLimit(t *testing.T) {
	cs := testContainerSpec()
	cs.CPUQuota, cs.CPUPeriod = 20000, 100000
	cpu := buildSpec(cs, nil).Linux.Resources.CPU
	if cpu.Quota == nil || *cpu.Quota != 20000 || cpu.Period == nil || *cpu.Period != 100000 || *cpu.Shares != 500 {
		t.Fatalf("cpu: %+v", cpu)
	}
	// Without cpu_hard_limit the task only gets a weight.
	cpu = buildSpec(testContainerSpec(), nil).Linux.Resources.CPU
	if cpu.Quota != nil || cpu.Period != nil {
		t.Fatalf("quota without cpu_hard_limit: %+v", cpu)
	}
}

func TestBuildSpec_ContainerOptions(t *testing.T) {
	s := buildSpec(testContainerSpec(), nil)
	if !s.Root.Readonly || !s.Process.NoNewPrivileges || s.Linux.Seccomp != nil {
		t.Fatalf("defaults: root %+v nnp %v seccomp %+v", s.Root, s.Process.NoNewPrivileges, s.Linux.Seccomp)
	}
	cs := testContainerSpec()
	cs.WritableRootfs, cs.NewPrivileges = true, true
	var err error
	if cs.Seccomp, err = seccompProfile(seccompDefault); err != nil {
		t.Fatal(err)
	}
	s = buildSpec(cs, nil)
	if s.Root.Readonly || s.Process.NoNewPrivileges {
		t.Fatalf("options: root %+v nnp %v", s.Root, s.Process.NoNewPrivileges)
	}
	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActAllow || len(sc.Syscalls) != 1 || sc.Syscalls[0].Action != specs.ActErrno ||
		*sc.Syscalls[0].ErrnoRet != uint(unix.EPERM) || !contains(sc.Syscalls[0].Names, "unshare") || !contains(sc.Syscalls[0].Names, "mount") {
		t.Fatalf("seccomp: %+v", sc)
	}
}

func TestSeccompProfile(t *testing.T) {
	if p, err := seccompProfile(""); p != nil || err != nil {
		t.Errorf("unset: %+v %v", p, err)
	}
	if _, err := seccompProfile("strict"); err == nil || !strings.Contains(err.Error(), `seccomp must be "default" or unset, got "strict"`) {
		t.Errorf("unknown profile: %v", err)
	}
	if err := (&TaskConfig{Seccomp: "bogus"}).validate(); err == nil {
		t.Error("validate accepts an unknown seccomp profile")
	}
}

func TestCPUQuota(t *testing.T) {
	// cpu = 500 on a node of 2 cores at 2400 MHz: 500/4800 of the node.
	r := &drivers.Resources{LinuxResources: &drivers.LinuxResources{PercentTicks: 500.0 / 4800, CPUPeriod: 100000}}
	for _, c := range []struct {
		period      int64
		cores       int
		quota       int64
		wantPeriod  uint64
		description string
	}{
		{0, 2, 20833, 100000, "Nomad's period, both cores"},
		{50000, 2, 10416, 50000, "cpu_cfs_period"},
		{0, 1, 10416, 100000, "one usable core"},
	} {
		quota, period, err := cpuQuota(r, c.period, c.cores)
		if err != nil || quota != c.quota || period != c.wantPeriod {
			t.Errorf("%s: got quota %d period %d err %v, want %d %d", c.description, quota, period, err, c.quota, c.wantPeriod)
		}
	}

	// No period from Nomad: the kernel's default.
	r.LinuxResources.CPUPeriod = 0
	if _, period, _ := cpuQuota(r, 0, 2); period != defaultCFSPeriod {
		t.Errorf("default period %d", period)
	}
	// A tiny cpu share still gets the kernel's minimum quota.
	r.LinuxResources.PercentTicks = 1.0 / 100000
	if quota, _, _ := cpuQuota(r, 0, 2); quota != minCFSPeriod {
		t.Errorf("minimum quota %d", quota)
	}
	if _, _, err := cpuQuota(&drivers.Resources{}, 0, 2); err == nil || !strings.Contains(err.Error(), "cpu_hard_limit needs") {
		t.Errorf("no PercentTicks: %v", err)
	}
}

func TestResourceLimits(t *testing.T) {
	r := &drivers.Resources{
		NomadResources: &structs.AllocatedTaskResources{
			Memory: structs.AllocatedMemoryResources{MemoryMB: 256},
			Cpu:    structs.AllocatedCpuResources{CpuShares: 300},
		},
		LinuxResources: &drivers.LinuxResources{CPUShares: 300, CpusetCpus: "0,1"},
	}
	limit, reserve, shares, cpuset := resourceLimits(r)
	if limit != 256<<20 || reserve != 0 || shares != 300 || cpuset != "0,1" {
		t.Fatalf("got %d %d %d %q", limit, reserve, shares, cpuset)
	}
	r.NomadResources.Memory.MemoryMaxMB = 1024
	limit, reserve, _, _ = resourceLimits(r)
	if limit != 1024<<20 || reserve != 256<<20 {
		t.Fatalf("memory_max: %d %d", limit, reserve)
	}
	if l, _, _, _ := resourceLimits(nil); l != 0 {
		t.Fatal("nil resources")
	}
}

func TestTaskEnv(t *testing.T) {
	cfg := &drivers.TaskConfig{Env: map[string]string{"NOMAD_TASK_DIR": "/local", "JAVA_HOME": "/wrong"}}
	env := taskEnv(cfg, "/opt/jdk")
	want := []string{"JAVA_HOME=/opt/jdk", "NOMAD_TASK_DIR=/local", "PATH=/opt/jdk/bin:" + defaultPath}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("got %v", env)
	}
	cfg.Env["PATH"] = "/custom"
	if env := taskEnv(cfg, "/opt/jdk"); !contains(env, "PATH=/opt/jdk/bin:/custom") {
		t.Fatalf("got %v", env)
	}
}

func TestTaskPathsResolve(t *testing.T) {
	tp := taskPaths{TaskDir: "/a/web", AllocDir: "/a/alloc", LocalDir: "/a/web/local", SecretsDir: "/a/web/secrets"}
	for _, c := range []struct {
		in, host, ctr string
		mount         bool
	}{
		{"local/app.jar", "/a/web/local/app.jar", "/local/app.jar", false},
		{"/local/app.jar", "/a/web/local/app.jar", "/local/app.jar", false},
		{"secrets/k.jar", "/a/web/secrets/k.jar", "/secrets/k.jar", false},
		{"/alloc/data/x.jar", "/a/alloc/data/x.jar", "/alloc/data/x.jar", false},
		{"app.jar", "/a/web/app.jar", "/app.jar", true},
		{"/tmp/app.jar", "/tmp/app.jar", "/tmp/app.jar", true},
		{"/localfoo/app.jar", "/localfoo/app.jar", "/localfoo/app.jar", true},
		{"../../etc/x.jar", "/a/web/etc/x.jar", "/etc/x.jar", true},
	} {
		host, ctr, mount := tp.resolve(c.in)
		if host != c.host || ctr != c.ctr || mount != c.mount {
			t.Errorf("%s: got %s %s %v", c.in, host, ctr, mount)
		}
	}
}

func TestContainerID(t *testing.T) {
	if got := containerID("0b1c-2d", "web api/1"); got != "crunjar-0b1c-2d-web_api_1" {
		t.Fatal(got)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"": 15, "SIGTERM": 15, "term": 15, "SIGKILL": 9, "HUP": 1, "10": 10, "SIGUSR2": 12} {
		if got, err := parseSignal(in); err != nil || int(got) != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	if _, err := parseSignal("SIGNOPE"); err == nil {
		t.Error("want error")
	}
}

func TestCgroupHierarchies(t *testing.T) {
	info := `22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw
30 22 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd
`
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	old := mountinfoPath
	mountinfoPath = p
	defer func() { mountinfoPath = old }()

	hs, err := cgroupHierarchies()
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroupHierarchy{
		{Mount: "/sys/fs/cgroup/unified", V2: true},
		{Mount: "/sys/fs/cgroup/memory", Controllers: []string{"memory"}},
		{Mount: "/sys/fs/cgroup/cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}},
		{Mount: "/sys/fs/cgroup/systemd", Controllers: []string{"name=systemd"}},
	}
	if !reflect.DeepEqual(hs, want) {
		t.Fatalf("got %+v", hs)
	}
	if dir, ok := cgroupDir(hs, "cpuacct", "/crunjar/c1"); !ok || dir != "/sys/fs/cgroup/cpu,cpuacct/crunjar/c1" {
		t.Fatalf("cpuacct dir %q", dir)
	}
}

func TestCrunLogMessages(t *testing.T) {
	p := filepath.Join(t.TempDir(), "crun.log")
	log := `{"msg":"unknown cap: ` + "`CAP_FOO`" + `","level":"warning","time":"x"}
{"msg":"unknown cap: ` + "`CAP_FOO`" + `","level":"warning","time":"x"}
{"msg":"chatty","level":"debug","time":"x"}
{"msg":"mount failed","level":"error","time":"x"}
plain text line
`
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, warned := crunLogMessages(p)
	if !warned || !reflect.DeepEqual(msgs, []string{"unknown cap: `CAP_FOO`", "mount failed", "plain text line"}) {
		t.Fatalf("got %q %v", msgs, warned)
	}
	if msgs, warned := crunLogMessages(p + ".missing"); msgs != nil || warned {
		t.Fatal("missing log")
	}
}

func TestExitStatusRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := readExitStatus(dir); ok || err != nil {
		t.Fatalf("missing: %v %v", ok, err)
	}
	st := exitStatus{ExitCode: 137, Signal: 9, OOMKilled: true}
	if err := writeExitStatus(dir, st); err != nil {
		t.Fatal(err)
	}
	got, ok, err := readExitStatus(dir)
	if !ok || err != nil || got.ExitCode != 137 || got.Signal != 9 || !got.OOMKilled {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	res := exitResultFrom(got)
	if !res.OOMKilled || res.Err == nil || res.Err.Error() != "OOM killed" {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, bundleExitFile+".tmp")); err == nil {
		t.Fatal("temporary file left behind")
	}
}

func TestProcessStartTime(t *testing.T) {
	st, err := processStartTime(os.Getpid())
	if err != nil || st == 0 {
		t.Fatalf("%d %v", st, err)
	}
	if _, err := openProcess(os.Getpid(), st+1); err != errProcessGone {
		t.Fatalf("pid reuse not detected: %v", err)
	}
}

func TestReleaseLogFIFOs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, ".app.stdout.fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nomad's log collector: blocks opening the read side, then reads to EOF.
	done := make(chan error, 1)
	go func() {
		f, err := os.Open(fifo)
		if err == nil {
			_, err = io.Copy(io.Discard, f)
			f.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		releaseLogFIFOs(fifo, regular, filepath.Join(dir, "missing"))
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(regular); string(data) != "kept" {
				t.Fatalf("regular file changed: %q", data)
			}
			// Without a reader it neither blocks nor fails.
			releaseLogFIFOs(fifo)
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the reader never saw the end of the FIFO")
		}
	}
}

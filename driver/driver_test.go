package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// The TestHarness_ tests run real containers; they skip unless root, crun
// and a JDK are present. Each uses its own state dir, crun root and cgroup
// parent.

func TestHarness_HelloJar(t *testing.T) {
	pc, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "hello", "Hello", TaskConfig{Args: []string{"a", "b c"}}, 256)

	startTask(t, h, task)
	res := waitResult(t, h, task.ID, time.Minute)
	if !res.Successful() {
		t.Fatalf("want success, got %+v", res)
	}
	out := waitLog(t, task, "stdout", "user.name=", 10*time.Second)
	def := d.jdks.scan().JDKs[0]
	for _, want := range []string{
		"Hello from crunjar!",
		"args: a b c",
		"NOMAD_TASK_DIR=/local",
		"JAVA_HOME=" + def.Home,
		"java.version=" + def.Version,
		"user.name=nobody",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	waitLog(t, task, "stderr", "to stderr", 10*time.Second)

	id := containerID(task.AllocID, task.Name)
	if err := h.DestroyTask(task.ID, false); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, pc, id)
}

// TestHarness_Runc runs a task and an exec in runc instead of crun.
func TestHarness_Runc(t *testing.T) {
	requireRuntime(t)
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not found on PATH")
	}
	t.Parallel()
	pc := testPluginConfig(t)
	pc.Runtime = "runc"
	d, h := newTestDriver(t, pc)
	task := newJarTask(t, d, h, "runc", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)

	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)
	res, err := h.ExecTask(task.ID, []string{"/bin/sh", "-c", "id -u"}, 30*time.Second)
	if err != nil || string(res.Stdout) != "65534\n" {
		t.Fatalf("exec in runc: %+v %v", res, err)
	}
	if err := h.StopTask(task.ID, 10*time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	waitResult(t, h, task.ID, time.Minute)
	id := containerID(task.AllocID, task.Name)
	if err := h.DestroyTask(task.ID, false); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, pc, id)
}

func TestHarness_ClassAndJavaVersion(t *testing.T) {
	_, d, h := newHarnessTest(t)
	oldest := d.jdks.scan().JDKs
	j := oldest[len(oldest)-1]
	// The JAR lives outside the task dir and is bound read-only.
	jar := testJar(t, "Hello")
	task := newTask(t, "classy", TaskConfig{Class: "Hello", ClassPath: jar, JavaVersion: j.Major}, 256)
	mkAllocDir(t, d, h, task, true)

	startTask(t, h, task)
	if res := waitResult(t, h, task.ID, time.Minute); !res.Successful() {
		t.Fatalf("want success, got %+v", res)
	}
	waitLog(t, task, "stdout", "java.version="+j.Version, 10*time.Second)
}

func TestHarness_ExitCode(t *testing.T) {
	_, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "exit", "Exit", TaskConfig{JarPath: "local/exit.jar", Args: []string{"3"}}, 256)

	startTask(t, h, task)
	res := waitResult(t, h, task.ID, time.Minute)
	if res.ExitCode != 3 || res.Signal != 0 || res.OOMKilled || res.Err != nil {
		t.Fatalf("want exit code 3, got %+v", res)
	}
	status, err := h.InspectTask(task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status.State != drivers.TaskStateExited || status.ExitResult.ExitCode != 3 {
		t.Fatalf("inspect: %+v", status)
	}
}

func TestHarness_StopGraceful(t *testing.T) {
	_, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "stop", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)

	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)
	if err := h.StopTask(task.ID, 20*time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	res := waitResult(t, h, task.ID, 10*time.Second)
	// The JVM runs its shutdown hooks on SIGTERM and exits with 128+15.
	if res.ExitCode != 143 || res.Signal != 0 {
		t.Fatalf("want exit code 143, got %+v", res)
	}
	waitLog(t, task, "stdout", "shutdown hook ran", 10*time.Second)
}

func TestHarness_StopKillsAfterTimeout(t *testing.T) {
	_, d, h := newHarnessTest(t)
	// The shutdown hook outlives the stop timeout.
	task := newJarTask(t, d, h, "stubborn", "Sleeper", TaskConfig{Args: []string{"600000", "600000", "0"}}, 256)

	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)
	start := time.Now()
	if err := h.StopTask(task.ID, 2*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*time.Second || took > 20*time.Second {
		t.Errorf("stop took %s", took)
	}
	res := waitResult(t, h, task.ID, 10*time.Second)
	if res.Signal != int(syscall.SIGKILL) || res.ExitCode != 137 {
		t.Fatalf("want SIGKILL, got %+v", res)
	}
	if !strings.Contains(readLog(t, task, "stdout"), "shutdown hook ran") {
		t.Error("SIGTERM was not delivered first")
	}
}

func TestHarness_Signal(t *testing.T) {
	_, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "signal", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)

	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)
	// SIGQUIT makes the JVM print a thread dump and carry on.
	if err := h.SignalTask(task.ID, "SIGQUIT"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, task, "stdout", "Full thread dump", 10*time.Second)
	if status, _ := h.InspectTask(task.ID); status.State != drivers.TaskStateRunning {
		t.Fatalf("task stopped after SIGQUIT: %+v", status)
	}
	if err := h.SignalTask(task.ID, "SIGINT"); err != nil {
		t.Fatal(err)
	}
	if res := waitResult(t, h, task.ID, 20*time.Second); res.ExitCode != 130 {
		t.Fatalf("want exit code 130 after SIGINT, got %+v", res)
	}
}

func TestHarness_OOMKilled(t *testing.T) {
	_, d, h := newHarnessTest(t)
	// A heap larger than the cgroup limit makes the kernel, not the JVM,
	// stop the allocation.
	task := newJarTask(t, d, h, "hog", "Hog", TaskConfig{JVMOptions: []string{"-Xmx1g", "-Xms16m"}}, 96)

	events, err := h.TaskEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	startTask(t, h, task)
	res := waitResult(t, h, task.ID, time.Minute)
	if !res.OOMKilled || res.Signal != int(syscall.SIGKILL) || res.Err == nil || !strings.Contains(res.Err.Error(), "OOM killed") {
		t.Fatalf("want OOM kill, got %+v", res)
	}
	select {
	case ev := <-events:
		if !strings.Contains(ev.Message, "OOM killed") || ev.TaskID != task.ID {
			t.Errorf("unexpected event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("no OOM task event")
	}
}

func TestHarness_CPUHardLimit(t *testing.T) {
	pc, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "capped", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}, CPUHardLimit: true}, 256)
	// A tenth of the node's compute.
	task.Resources.LinuxResources.PercentTicks = 0.1
	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)

	hs, err := cgroupHierarchies()
	if err != nil {
		t.Fatal(err)
	}
	dir, ok := cgroupDir(hs, "cpu", "/"+pc.CgroupParent+"/"+containerID(task.AllocID, task.Name))
	if !ok {
		t.Skip("no cpu cgroup controller")
	}
	want := strconv.Itoa(int(0.1 * 100000 * float64(runtime.NumCPU())))
	var got string
	if data, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
		got, want = strings.TrimSpace(string(data)), want+" 100000"
	} else if data, err := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us")); err == nil {
		got = strings.TrimSpace(string(data))
	} else {
		t.Fatalf("no cpu.max or cpu.cfs_quota_us in %s", dir)
	}
	if got != want {
		t.Errorf("CFS quota in %s: got %q, want %q", dir, got, want)
	}
	if err := h.StopTask(task.ID, 10*time.Second, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
}

func TestHarness_ContainerOptions(t *testing.T) {
	_, d, h := newHarnessTest(t)
	probe := `/usr/bin/unshare -U /bin/true 2>/dev/null; echo unshare=$?; echo root=$(awk '$5 == "/" {split($6, o, ","); print o[1]}' /proc/self/mountinfo); grep NoNewPrivs /proc/self/status`
	for _, c := range []struct {
		tc   TaskConfig
		want string
	}{
		{TaskConfig{}, "unshare=0\nroot=ro\nNoNewPrivs:\t1\n"},
		{TaskConfig{Seccomp: seccompDefault, WritableRootfs: true, AllowPrivilegeEscalation: true}, "unshare=1\nroot=rw\nNoNewPrivs:\t0\n"},
	} {
		c.tc.Args = []string{"600000", "0", "0"}
		task := newJarTask(t, d, h, "options", "Sleeper", c.tc, 256)
		startTask(t, h, task)
		waitLog(t, task, "stdout", "ready", 30*time.Second)
		res, err := h.ExecTask(task.ID, []string{"/bin/sh", "-c", probe}, 30*time.Second)
		if err != nil || string(res.Stdout) != c.want {
			t.Errorf("%+v: got %q (stderr %q, err %v), want %q", c.tc, res.Stdout, res.Stderr, err, c.want)
		}
		if err := h.StopTask(task.ID, 10*time.Second, "SIGKILL"); err != nil {
			t.Fatal(err)
		}
		if err := h.DestroyTask(task.ID, true); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHarness_RecoverAfterHandleLoss(t *testing.T) {
	pc, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "recover", "Sleeper", TaskConfig{Args: []string{"4000", "0", "7"}}, 256)

	handle := startTask(t, h, task)
	state := driverState(t, handle)

	// A new plugin instance knows the task only from its handle.
	_, h2 := newTestDriver(t, pc)
	if err := h2.RecoverTask(handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	status, err := h2.InspectTask(task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status.State != drivers.TaskStateRunning || status.DriverAttributes["pid"] != strconv.Itoa(state.ContainerPID) {
		t.Fatalf("recovered status %+v, want running pid %d", status, state.ContainerPID)
	}
	res := waitResult(t, h2, task.ID, time.Minute)
	if res.ExitCode != 7 || res.Err != nil {
		t.Fatalf("want exit code 7, got %+v", res)
	}

	// A third instance recovers the finished task from exit.json.
	_, h3 := newTestDriver(t, pc)
	if err := h3.RecoverTask(handle); err != nil {
		t.Fatalf("RecoverTask after exit: %v", err)
	}
	if res := waitResult(t, h3, task.ID, 5*time.Second); res.ExitCode != 7 {
		t.Fatalf("want exit code 7 after recovery, got %+v", res)
	}
	if err := h3.DestroyTask(task.ID, false); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, pc, state.ContainerID)
	if err := h.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}

	// Without monitor and exit status the task cannot be recovered.
	_, h4 := newTestDriver(t, pc)
	if err := h4.RecoverTask(handle); err == nil || !strings.Contains(err.Error(), "monitor") {
		t.Fatalf("want a recovery error naming the monitor, got %v", err)
	}
}

func TestHarness_DestroyRunning(t *testing.T) {
	pc, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "destroy", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)

	handle := startTask(t, h, task)
	state := driverState(t, handle)
	if err := h.DestroyTask(task.ID, false); err == nil {
		t.Fatal("destroying a running task without force must fail")
	}
	if err := h.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := h.DestroyTask(task.ID, true); err != nil {
		t.Fatalf("second destroy: %v", err)
	}
	assertNothingLeft(t, pc, state.ContainerID)
	for _, pid := range []int{state.ContainerPID, state.MonitorPID} {
		eventually(t, 10*time.Second, "process exit", func() bool {
			_, err := processStartTime(pid)
			return err != nil
		})
	}
}

func TestHarness_StartErrorsLeaveNothing(t *testing.T) {
	requireRuntime(t)
	t.Parallel()
	pc := testPluginConfig(t)
	pc.AllowCaps = append(append([]string{}, defaultAllowCaps...), "CAP_NET_ADMIN", "CAP_BOGUS")
	hello := testJar(t, "Hello")
	// Listed oldest first.
	var available []string
	for _, j := range newJDKCatalog(nil).scan().JDKs {
		available = append([]string{strconv.Itoa(j.Major) + " (" + j.Home + ")"}, available...)
	}

	cases := []struct {
		name string
		tc   TaskConfig
		jars []string // JARs placed in local/
		want string
	}{
		{"missing", TaskConfig{JarPath: "local/x.jar"}, nil, "jar_path local/x.jar: file not found"},
		{"nojars", TaskConfig{}, nil, "no jar_path or class given and local/ holds 0 JARs"},
		{"twojars", TaskConfig{}, []string{"b.jar", "a.jar"}, "local/ holds 2 JARs: a.jar, b.jar; set jar_path"},
		{"java8", TaskConfig{JarPath: "local/a.jar", JavaVersion: 8}, []string{"a.jar"}, "Java 8 is not installed; available: " + strings.Join(available, ", ")},
		{"capadd", TaskConfig{JarPath: "local/a.jar", CapAdd: []string{"sys_admin"}}, []string{"a.jar"}, "cap_add CAP_SYS_ADMIN not allowed"},
		{"bogus-cap", TaskConfig{JarPath: "local/a.jar", CapAdd: []string{"CAP_BOGUS"}}, []string{"a.jar"}, "unknown cap: `CAP_BOGUS`"},
		{"missing-class", TaskConfig{Class: "NoSuchClass", ClassPath: "local/a.jar", JVMOptions: []string{"-Xshare:off"}}, []string{"a.jar"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// The harness serves one alloc dir only.
			d, h := newTestDriver(t, pc)
			task := newTask(t, "err-"+c.name, c.tc, 256)
			mkAllocDir(t, d, h, task, true)
			for _, j := range c.jars {
				copyJar(t, task, hello, j)
			}
			_, _, err := h.StartTask(task)
			if c.want == "" {
				// Starts, then the JVM fails: a task failure, not a start error.
				if err != nil {
					t.Fatalf("StartTask: %v", err)
				}
				if res := waitResult(t, h, task.ID, time.Minute); res.ExitCode != 1 {
					t.Fatalf("want exit code 1, got %+v", res)
				}
				if err := h.DestroyTask(task.ID, false); err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want error containing %q, got %v", c.want, err)
			}
			assertNothingLeft(t, pc, containerID(task.AllocID, task.Name))
		})
	}
}

func TestHarness_CrunFailureSurfaces(t *testing.T) {
	pc, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "badcrun", "Hello", TaskConfig{}, 256)
	// A mount whose source does not exist makes crun create fail.
	task.Mounts = []*drivers.MountConfig{{HostPath: "/nonexistent/crunjar", TaskPath: "/data"}}

	_, _, err := h.StartTask(task)
	if err == nil || !strings.Contains(err.Error(), "crun create failed") || !strings.Contains(err.Error(), "/nonexistent/crunjar") {
		t.Fatalf("want crun's error, got %v", err)
	}
	assertNothingLeft(t, pc, containerID(task.AllocID, task.Name))
}

func TestHarness_ExecAndStats(t *testing.T) {
	_, d, h := newHarnessTest(t)
	task := newJarTask(t, d, h, "exec", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)

	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)

	res, err := h.ExecTask(task.ID, []string{"/bin/sh", "-c", "id -u; echo $NOMAD_TASK_DIR; exit 4"}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "65534\n/local\n" || res.ExitResult.ExitCode != 4 {
		t.Fatalf("exec: stdout %q stderr %q exit %+v", got, res.Stderr, res.ExitResult)
	}

	var stdout, stderr bytes.Buffer
	sres, err := d.ExecTaskStreaming(context.Background(), task.ID, &drivers.ExecOptions{
		Command: []string{"/bin/sh", "-c", "cat; echo oops >&2; exit 2"},
		Stdin:   io.NopCloser(strings.NewReader("from stdin\n")),
		Stdout:  nopCloser{&stdout},
		Stderr:  nopCloser{&stderr},
	})
	if err != nil || sres.ExitCode != 2 || stdout.String() != "from stdin\n" || stderr.String() != "oops\n" {
		t.Fatalf("streaming exec: %+v %v stdout %q stderr %q", sres, err, stdout.String(), stderr.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.TaskStats(ctx, task.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case u := <-ch:
			if u == nil || u.ResourceUsage.MemoryStats.Usage == 0 || u.ResourceUsage.MemoryStats.RSS == 0 {
				t.Fatalf("no memory usage in %+v", u)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no stats")
		}
	}
	if err := h.StopTask(task.ID, 10*time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestHarness_LargeOutput checks that output reaches the log FIFO complete:
// 100 MB in total and lines of 1 MB.
func TestHarness_LargeOutput(t *testing.T) {
	_, d, h := newHarnessTest(t)
	const total, lineLen = 100 << 20, 1 << 20
	task := newTask(t, "flood", TaskConfig{Args: []string{strconv.Itoa(total), strconv.Itoa(lineLen)}}, 256)
	mkAllocDir(t, d, h, task, false)
	copyJar(t, task, testJar(t, "Flood"), "flood.jar")

	// Our own FIFO reader stands in for logmon and counts what arrives.
	task.StdoutPath = filepath.Join(t.TempDir(), "stdout.fifo")
	if err := syscall.Mkfifo(task.StdoutPath, 0o600); err != nil {
		t.Fatal(err)
	}
	type count struct{ bytes, lines, badLines int }
	done := make(chan count, 1)
	go func() {
		f, err := os.Open(task.StdoutPath)
		if err != nil {
			done <- count{badLines: -1}
			return
		}
		defer f.Close()
		var c count
		r := bufio.NewReaderSize(f, 64<<10)
		for {
			line, err := r.ReadSlice('\n')
			n := len(line)
			for err == bufio.ErrBufferFull {
				var more []byte
				more, err = r.ReadSlice('\n')
				n += len(more)
			}
			c.bytes += n
			if n > 0 {
				c.lines++
				if n != lineLen {
					c.badLines++
				}
			}
			if err == io.EOF {
				done <- c
				return
			}
		}
	}()

	startTask(t, h, task)
	if res := waitResult(t, h, task.ID, 2*time.Minute); !res.Successful() {
		t.Fatalf("want success, got %+v", res)
	}
	select {
	case c := <-done:
		if c.bytes != total || c.lines != total/lineLen || c.badLines != 0 {
			t.Fatalf("got %d bytes in %d lines (%d broken), want %d bytes in %d lines", c.bytes, c.lines, c.badLines, total, total/lineLen)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("FIFO reader did not see EOF")
	}
}

// TestRecoverTask_ExitedAndTracked covers the recoveries that need no
// container: from the exit status a monitor left, and of a task this
// instance already tracks.
func TestRecoverTask_ExitedAndTracked(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := NewDriver(ctx, hclog.NewNullLogger())
	if err := d.RecoverTask(nil); err == nil {
		t.Fatal("want an error for a nil handle")
	}

	handle := exitedTaskHandle(t, 3)
	if err := d.RecoverTask(handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	status, err := d.InspectTask(handle.Config.ID)
	if err != nil || status.State != drivers.TaskStateExited || status.ExitResult.ExitCode != 3 {
		t.Fatalf("recovered status %+v %v, want exited with code 3", status, err)
	}

	tracked, _ := d.tasks.Get(handle.Config.ID)
	if err := d.RecoverTask(handle); err != nil {
		t.Fatalf("RecoverTask of a tracked task: %v", err)
	}
	if h, _ := d.tasks.Get(handle.Config.ID); h != tracked {
		t.Fatal("recovering a tracked task replaced its handle")
	}
}

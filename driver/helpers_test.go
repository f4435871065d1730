package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
)

// TestMain lets the test binary double as the monitor, as the plugin binary
// does: the driver under test starts os.Executable() with "monitor".
// It also gives the tests a private TMPDIR, because Nomad's test harness
// leaves empty temporary directories behind.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == monitorArg {
		os.Exit(runMonitor(os.Args[2]))
	}
	tmp, err := os.MkdirTemp("", "crunjar-test-")
	if err == nil {
		// The task user must reach JARs bound from below here.
		err = os.Chmod(tmp, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// writeZip writes a zip (JAR) with the given entries.
func writeZip(t *testing.T, path string, entries map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func manifest(mainClass string) []byte {
	m := "Manifest-Version: 1.0\r\nCreated-By: crunjar tests\r\n"
	if mainClass != "" {
		m += "Main-Class: " + mainClass + "\r\n"
	}
	return []byte(m + "\r\n")
}

// testJavaSources are the test applications, compiled at test time.
var testJavaSources = map[string]string{
	"Hello": `public final class Hello {
  public static void main(String[] a) {
    System.out.println("Hello from crunjar!");
    System.out.println("args: " + String.join(" ", a));
    System.out.println("NOMAD_TASK_DIR=" + System.getenv("NOMAD_TASK_DIR"));
    System.out.println("JAVA_HOME=" + System.getenv("JAVA_HOME"));
    System.out.println("java.version=" + System.getProperty("java.version"));
    System.out.println("user.name=" + System.getProperty("user.name"));
    System.err.println("to stderr");
  }
}`,
	"Exit": `public final class Exit {
  public static void main(String[] a) { System.exit(Integer.parseInt(a[0])); }
}`,
	// Sleeper <sleep ms> <shutdown hook sleep ms> <exit code>
	"Sleeper": `public final class Sleeper {
  public static void main(String[] a) throws Exception {
    long sleep = Long.parseLong(a[0]);
    long hook = Long.parseLong(a[1]);
    int code = Integer.parseInt(a[2]);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("shutdown hook ran");
      System.out.flush();
      try { Thread.sleep(hook); } catch (InterruptedException e) { }
    }));
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(sleep);
    System.exit(code);
  }
}`,
	"Hog": `public final class Hog {
  public static void main(String[] a) {
    java.util.List<byte[]> keep = new java.util.ArrayList<>();
    while (true) {
      byte[] b = new byte[16 << 20];
      java.util.Arrays.fill(b, (byte) 1);
      keep.add(b);
    }
  }
}`,
	// Flood <total bytes> <line length>
	"Flood": `public final class Flood {
  public static void main(String[] a) throws Exception {
    long total = Long.parseLong(a[0]);
    int len = Integer.parseInt(a[1]);
    byte[] line = new byte[len];
    java.util.Arrays.fill(line, (byte) 'x');
    line[len - 1] = '\n';
    java.io.OutputStream out = new java.io.BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16);
    for (long n = 0; n < total; n += len) out.write(line);
    out.flush();
  }
}`,
}

var (
	compileOnce sync.Once
	classesDir  string
	compileErr  error
)

// testJar returns a JAR (in a fresh dir) running the named test class.
func testJar(t *testing.T, class string) string {
	t.Helper()
	compileOnce.Do(func() {
		javac, err := exec.LookPath("javac")
		if err != nil {
			compileErr = fmt.Errorf("javac not found: %v", err)
			return
		}
		classesDir, compileErr = os.MkdirTemp("", "classes-")
		if compileErr != nil {
			return
		}
		args := []string{"--release", "11", "-d", classesDir}
		for name, src := range testJavaSources {
			p := filepath.Join(classesDir, name+".java")
			if compileErr = os.WriteFile(p, []byte(src), 0o644); compileErr != nil {
				return
			}
			args = append(args, p)
		}
		if out, err := exec.Command(javac, args...).CombinedOutput(); err != nil {
			compileErr = fmt.Errorf("javac: %v: %s", err, out)
		}
	})
	if compileErr != nil {
		t.Skipf("cannot build test JARs: %v", compileErr)
	}
	entries := map[string][]byte{"META-INF/MANIFEST.MF": manifest(class)}
	matches, _ := filepath.Glob(filepath.Join(classesDir, class+"*.class"))
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		entries[filepath.Base(m)] = data
	}
	p := filepath.Join(t.TempDir(), strings.ToLower(class)+".jar")
	writeZip(t, p, entries)
	// t.TempDir() is 0700; the task user must reach absolute host jars.
	for dir := filepath.Dir(p); dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		_ = os.Chmod(dir, 0o755)
	}
	return p
}

// requireRuntime skips unless crun containers with a JVM can run here.
func requireRuntime(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create containers and cgroups")
	}
	if _, err := exec.LookPath("crun"); err != nil {
		t.Skip("crun not found on PATH")
	}
	if len(newJDKCatalog(nil).scan().JDKs) == 0 {
		t.Skip("no JDK found in /usr/lib/jvm, /opt/java or $JAVA_HOME")
	}
}

var cgroupSeq atomic.Int64

// testPluginConfig uses a private state dir, crun root and cgroup parent,
// and removes the cgroup parent afterwards.
func testPluginConfig(t *testing.T) PluginConfig {
	t.Helper()
	parent := fmt.Sprintf("crunjar-test-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	t.Cleanup(func() { _ = removeCgroup("/" + parent) })
	return PluginConfig{StateDir: t.TempDir(), CgroupParent: parent}
}

// newHarnessTest starts a test of real containers: it skips unless they can
// run here, runs in parallel and returns a private config, a driver using it
// and a harness speaking to the driver.
func newHarnessTest(t *testing.T) (PluginConfig, *Driver, *testutils.DriverHarness) {
	t.Helper()
	requireRuntime(t)
	t.Parallel()
	pc := testPluginConfig(t)
	d, h := newTestDriver(t, pc)
	return pc, d, h
}

// newTestDriver returns a configured driver and a harness speaking to it
// over gRPC like Nomad does.
func newTestDriver(t *testing.T, pc PluginConfig) (*Driver, *testutils.DriverHarness) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := NewDriver(ctx, hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Info, Output: testWriter{t}}))
	h := testutils.NewDriverHarness(t, d)
	t.Cleanup(h.Kill)
	var data []byte
	if err := base.MsgPackEncode(&data, &pc); err != nil {
		t.Fatal(err)
	}
	if err := h.SetConfig(&base.Config{PluginConfig: data}); err != nil {
		t.Fatal(err)
	}
	return d, h
}

// testWriter sends logs to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newTask builds a task with the given driver config and memory in MB.
func newTask(t *testing.T, name string, tc TaskConfig, memoryMB int64) *drivers.TaskConfig {
	t.Helper()
	task := &drivers.TaskConfig{
		ID:      uuid.Generate(),
		AllocID: uuid.Generate(),
		Name:    name,
		Env:     map[string]string{"HELLO_TEST": "1"},
		Resources: &drivers.Resources{
			NomadResources: &structs.AllocatedTaskResources{
				Memory: structs.AllocatedMemoryResources{MemoryMB: memoryMB},
				Cpu:    structs.AllocatedCpuResources{CpuShares: 200},
			},
			LinuxResources: &drivers.LinuxResources{CPUShares: 200, MemoryLimitBytes: memoryMB << 20},
		},
	}
	if err := task.EncodeConcreteDriverConfig(&tc); err != nil {
		t.Fatal(err)
	}
	return task
}

// newJarTask builds a task whose alloc dir has Nomad's log collector and
// whose local/ holds the JAR of a test class, named like the class in lower
// case ("sleeper.jar").
func newJarTask(t *testing.T, d *Driver, h *testutils.DriverHarness, name, class string, tc TaskConfig, memoryMB int64) *drivers.TaskConfig {
	t.Helper()
	task := newTask(t, name, tc, memoryMB)
	mkAllocDir(t, d, h, task, true)
	copyJar(t, task, testJar(t, class), strings.ToLower(class)+".jar")
	return task
}

// copyJar puts a JAR into the task's local/ directory.
func copyJar(t *testing.T, task *drivers.TaskConfig, src, name string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(task.TaskDir().LocalDir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startTask starts a task, failing the test if it does not start.
func startTask(t *testing.T, h *testutils.DriverHarness, task *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	handle, _, err := h.StartTask(task)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	return handle
}

// driverState decodes the TaskState the driver keeps in a task's handle.
func driverState(t *testing.T, handle *drivers.TaskHandle) TaskState {
	t.Helper()
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil {
		t.Fatal(err)
	}
	return state
}

// mkAllocDir builds the task's alloc dir. Cleanup destroys the task through
// the driver itself first, because the harness closes its client when the
// alloc dir goes away.
func mkAllocDir(t *testing.T, d *Driver, h *testutils.DriverHarness, task *drivers.TaskConfig, logs bool) {
	t.Helper()
	cleanup := h.MkAllocDir(task, logs)
	t.Cleanup(func() {
		if err := d.DestroyTask(task.ID, true); err != nil {
			t.Errorf("destroying task: %v", err)
		}
		cleanup()
	})
}

// waitResult waits for a task's exit result.
func waitResult(t *testing.T, h *testutils.DriverHarness, taskID string, timeout time.Duration) *drivers.ExitResult {
	t.Helper()
	ch, err := h.WaitTask(context.Background(), taskID)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-ch:
		return res
	case <-time.After(timeout):
		t.Fatalf("task %s did not exit within %s", taskID, timeout)
		return nil
	}
}

// readLog returns what logmon wrote for the task's stream ("stdout").
func readLog(t *testing.T, task *drivers.TaskConfig, stream string) string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(task.TaskDir().LogDir, task.Name+"."+stream+".0"))
	return string(data)
}

// waitLog waits until the task's stream ("stdout") holds text and returns
// the stream.
func waitLog(t *testing.T, task *drivers.TaskConfig, stream, text string, timeout time.Duration) string {
	t.Helper()
	var log string
	eventually(t, timeout, fmt.Sprintf("%q in %s", text, stream), func() bool {
		log = readLog(t, task, stream)
		return strings.Contains(log, text)
	})
	return log
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertNothingLeft checks that a container left no crun state, bundle or
// cgroup behind.
func assertNothingLeft(t *testing.T, pc PluginConfig, id string) {
	t.Helper()
	if err := pc.normalize(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(pc.CrunRoot, id), filepath.Join(pc.bundlesDir(), id)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
	hs, err := cgroupHierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, hier := range hs {
		p := filepath.Join(hier.Mount, pc.CgroupParent, id)
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s still exists", p)
		}
	}
}

// exitedTaskHandle is the handle of a task whose monitor left exit code
// code behind: recoverable without a container.
func exitedTaskHandle(t *testing.T, code int) *drivers.TaskHandle {
	t.Helper()
	cfg := &drivers.TaskConfig{ID: "task-1", Name: "app", AllocID: "alloc-1"}
	bundle := t.TempDir()
	if err := writeExitStatus(bundle, exitStatus{ExitCode: code, FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	if err := handle.SetDriverState(&TaskState{TaskConfig: cfg, ContainerID: "c1", BundleDir: bundle}); err != nil {
		t.Fatal(err)
	}
	return handle
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
)

func TestParseFaults(t *testing.T) {
	for value, want := range map[string]string{
		"":                                  "",
		" , ":                               "",
		"drop-env":                          "drop-env",
		" survive-stop, drop-env,drop-env ": "drop-env,survive-stop",
	} {
		got, err := parseFaults(value)
		if err != nil || got.String() != want {
			t.Errorf("%q: got %q, %v; want %q", value, got, err, want)
		}
	}
	all, err := parseFaults(strings.Join(knownFaults, ","))
	if err != nil || len(all) != len(knownFaults) {
		t.Errorf("all known faults: got %v, %v", all, err)
	}

	known := "; known faults: signal-crash, kill-runtime-only, drop-env, no-alloc-mount, wrong-exit-code, " +
		"truncate-stdout, survive-stop, recover-fails, leak-container, slow-start, hang-start, hang-stop"
	for value, want := range map[string]string{
		"drop-env,Drop-Env":     `CRUNJAR_FAULTS names an unknown fault "Drop-Env"` + known,
		"nope, drop-env,x,nope": `CRUNJAR_FAULTS names unknown faults "nope", "x"` + known,
	} {
		got, err := parseFaults(value)
		if err == nil || err.Error() != want || got != nil {
			t.Errorf("%q: got %v, %v; want error %q", value, got, err, want)
		}
	}
}

// TestFingerprint_Faults sets CRUNJAR_FAULTS for the whole process, so it
// must not run in parallel (t.Setenv enforces that).
func TestFingerprint_Faults(t *testing.T) {
	var log bytes.Buffer
	fingerprint := func(value string) *drivers.Fingerprint {
		t.Helper()
		log.Reset()
		t.Setenv(faultsEnv, value)
		d := NewDriver(context.Background(), hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Info}))
		// A runtime that is not there ends the fingerprint before it would
		// run a probe container.
		if err := d.applyConfig(PluginConfig{Runtime: "no-such-crun"}); err != nil {
			t.Fatal(err)
		}
		return d.buildFingerprint()
	}

	fp := fingerprint("")
	if _, ok := fp.Attributes["driver.crunjar.faults"]; ok || strings.Contains(log.String(), "fault") {
		t.Errorf("no faults: attributes %v, log %q", fp.Attributes, log.String())
	}

	fp = fingerprint("wrong-exit-code,drop-env")
	if got := fp.Attributes["driver.crunjar.faults"]; got == nil || got.GoString() != "drop-env,wrong-exit-code" {
		t.Errorf("faults attribute: got %v", got)
	}
	if !strings.Contains(log.String(), "[WARN]") || !strings.Contains(log.String(), "fault injection is on") ||
		!strings.Contains(log.String(), `faults="drop-env,wrong-exit-code"`) {
		t.Errorf("no warning about the faults in %q", log.String())
	}

	fp = fingerprint("drop-env,signal-crahs")
	if fp.Health != drivers.HealthStateUnhealthy ||
		!strings.HasPrefix(fp.HealthDescription, `CRUNJAR_FAULTS names an unknown fault "signal-crahs"; known faults: signal-crash, `) {
		t.Errorf("unknown fault: %+v", fp)
	}
	if _, ok := fp.Attributes["driver.crunjar.faults"]; ok {
		t.Errorf("refused faults in the attributes: %v", fp.Attributes)
	}
	if !strings.Contains(log.String(), "[ERROR]") || !strings.Contains(log.String(), "signal-crahs") {
		t.Errorf("unknown fault not logged as an error: %q", log.String())
	}
}

// exitedTask is a driver tracking one task that has exited.
func exitedTask(t *testing.T) (*Driver, *drivers.TaskConfig) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := NewDriver(ctx, hclog.NewNullLogger())
	cfg := &drivers.TaskConfig{ID: "task-1", Name: "app", AllocID: "alloc-1"}
	d.tasks.Set(cfg.ID, newExitedHandle(d.logger, TaskState{TaskConfig: cfg, ContainerID: "c1"}, exitStatus{}))
	return d, cfg
}

func TestFault_SignalCrash(t *testing.T) {
	d, cfg := exitedTask(t)
	// Without the fault the missing runtime is an error.
	if err := d.SignalTask(cfg.ID, "SIGHUP"); err == nil {
		t.Fatal("want an error from signalling without a runtime")
	}
	d.faults = faultSet{faultSignalCrash}
	if err := d.SignalTask("no-such-task", "SIGHUP"); err != drivers.ErrTaskNotFound {
		t.Fatalf("unknown task: got %v", err)
	}
	defer func() {
		err, ok := recover().(runtime.Error)
		if !ok || !strings.Contains(err.Error(), "nil pointer dereference") {
			t.Fatalf("want a nil pointer panic, got %v", err)
		}
	}()
	_ = d.SignalTask(cfg.ID, "SIGHUP")
}

func TestFault_RecoverFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	handle := exitedTaskHandle(t, 3)

	// A restarted plugin cannot reattach.
	d := NewDriver(ctx, hclog.NewNullLogger())
	d.faults = faultSet{faultRecoverFails}
	if err := d.RecoverTask(handle); err == nil || !strings.Contains(err.Error(), "recover-fails") {
		t.Fatalf("want an error naming the fault, got %v", err)
	}
	if _, ok := d.tasks.Get(handle.Config.ID); ok {
		t.Fatal("the task is tracked after a failed recovery")
	}

	// A restarted agent still reattaches to a plugin that tracks the task.
	d.faults = nil
	if err := d.RecoverTask(handle); err != nil {
		t.Fatal(err)
	}
	d.faults = faultSet{faultRecoverFails}
	if err := d.RecoverTask(handle); err != nil {
		t.Fatalf("RecoverTask of a tracked task: %v", err)
	}
}

func TestFault_DropEnvAndNoAllocMount(t *testing.T) {
	jdk := fakeJDK(t, filepath.Join(t.TempDir(), "jdk"), "21.0.1", 0)
	d := NewDriver(context.Background(), hclog.NewNullLogger())
	if err := d.applyConfig(PluginConfig{JavaRuntimes: []string{jdk}}); err != nil {
		t.Fatal(err)
	}
	cfg := &drivers.TaskConfig{ID: "task-1", Name: "app", AllocID: "alloc-1", AllocDir: t.TempDir(),
		Env: map[string]string{"GREETING": "hi", "NOMAD_TASK_DIR": "/local"}}
	td := cfg.TaskDir()
	for _, dir := range []string{td.SharedAllocDir, td.LocalDir, td.SecretsDir} {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	writeZip(t, filepath.Join(td.LocalDir, "app.jar"), map[string][]byte{"META-INF/MANIFEST.MF": manifest("Main")})
	spec := func() *containerSpec {
		t.Helper()
		cs, err := d.prepareSpec(cfg, &TaskConfig{JarPath: "local/app.jar"}, "c1")
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}

	cs := spec()
	if !slices.Contains(cs.Env, "GREETING=hi") || cs.AllocDir != td.SharedAllocDir {
		t.Fatalf("without faults: env %v, alloc dir %q", cs.Env, cs.AllocDir)
	}

	d.faults = faultSet{faultDropEnv, faultNoAllocMount}
	cs = spec()
	want := []string{"JAVA_HOME=" + jdk, "PATH=" + jdk + "/bin:" + defaultPath}
	if !slices.Equal(cs.Env, want) {
		t.Errorf("drop-env: got env %v, want %v", cs.Env, want)
	}
	if _, i := mountByDest(buildSpec(cs, nil), "/alloc"); i >= 0 {
		t.Errorf("no-alloc-mount: /alloc is mounted")
	}
	if _, i := mountByDest(buildSpec(cs, nil), "/local"); i < 0 {
		t.Errorf("no-alloc-mount: /local is not mounted either")
	}
}

func TestFault_TruncateStdoutRelay(t *testing.T) {
	r, fifo, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	const hold = 300 * time.Millisecond
	w, err := lossyStdout(fifo, hold)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(r)
	expect := func(want string) time.Duration {
		t.Helper()
		start := time.Now()
		got, err := lines.ReadString('\n')
		if got != want || err != nil {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
		return time.Since(start)
	}

	fmt.Fprint(w, "first\nsecond\n")
	expect("first\n")
	// The newest line comes once the output has been quiet for hold.
	if took := expect("second\n"); took < hold/2 {
		t.Errorf("the newest line came after %s, before the output was quiet for %s", took, hold)
	}
	fmt.Fprint(w, "third\nlast")
	expect("third\n")
	fmt.Fprint(w, " line\n")
	w.Close()
	if rest, err := io.ReadAll(lines); err != nil || len(rest) != 0 {
		t.Fatalf("want the last line lost and end of file, got %q, %v", rest, err)
	}
}

// The TestHarness_Fault tests run real containers with one fault each.

func newFaultyHarnessTest(t *testing.T, faults ...string) (PluginConfig, *Driver, *testutils.DriverHarness) {
	t.Helper()
	pc, d, h := newHarnessTest(t)
	d.faults = faults
	return pc, d, h
}

// running reports whether pid exists and is not a zombie: a JVM orphaned by
// its monitor is reaped by whatever init the host has, if at all.
func running(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return rest != "" && rest[0] != 'Z' && rest[0] != 'X'
}

// removeWhenDone removes the task's container after the test, which the
// driver under test leaves behind, before its alloc dir goes.
func removeWhenDone(t *testing.T, pc PluginConfig, state TaskState) {
	t.Helper()
	t.Cleanup(func() {
		c := &crunCLI{Path: state.CrunPath, Root: state.CrunRoot}
		if err := cleanupContainer(c, state.ContainerID, state.BundleDir, state.CgroupPath); err != nil {
			t.Error(err)
		}
		assertNothingLeft(t, pc, state.ContainerID)
	})
}

func TestHarness_FaultKillRuntimeOnly(t *testing.T) {
	pc, d, h := newFaultyHarnessTest(t, faultKillRuntimeOnly)
	task := newJarTask(t, d, h, "stubborn", "Sleeper", TaskConfig{Args: []string{"600000", "600000", "0"}}, 256)
	state := driverState(t, startTask(t, h, task))
	waitLog(t, task, "stdout", "ready", 30*time.Second)

	if err := h.StopTask(task.ID, 2*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	res := waitResult(t, h, task.ID, 10*time.Second)
	if res.ExitCode != -1 || res.Err == nil || !strings.Contains(res.Err.Error(), "monitor") {
		t.Errorf("want exit code -1 and the monitor's loss, got %+v", res)
	}
	if !running(state.ContainerPID) {
		t.Fatal("the JVM got the SIGKILL")
	}
	// The forced delete of DestroyTask still ends it.
	if err := h.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the JVM's end", func() bool { return !running(state.ContainerPID) })
	assertNothingLeft(t, pc, state.ContainerID)
}

func TestHarness_FaultWrongExitCode(t *testing.T) {
	_, d, h := newFaultyHarnessTest(t, faultWrongExitCode)
	task := newJarTask(t, d, h, "killed", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)
	startTask(t, h, task)
	waitLog(t, task, "stdout", "ready", 30*time.Second)

	if err := h.StopTask(task.ID, 10*time.Second, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	if res := waitResult(t, h, task.ID, 10*time.Second); res.ExitCode != 0 || res.Signal != 0 {
		t.Fatalf("want exit code 0 and no signal instead of 137 and 9, got %+v", res)
	}
}

func TestHarness_FaultTruncateStdout(t *testing.T) {
	_, d, h := newFaultyHarnessTest(t, faultTruncateStdout)
	task := newJarTask(t, d, h, "truncated", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)
	startTask(t, h, task)
	// A line the JVM prints while it keeps running does arrive.
	waitLog(t, task, "stdout", "ready", 30*time.Second)

	if err := h.StopTask(task.ID, 20*time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if res := waitResult(t, h, task.ID, 10*time.Second); res.ExitCode != 143 {
		t.Fatalf("want exit code 143, got %+v", res)
	}
	// Time for the log collector to write a line that would still come.
	time.Sleep(time.Second)
	if out := readLog(t, task, "stdout"); strings.Contains(out, "shutdown hook ran") {
		t.Fatalf("the last line arrived:\n%s", out)
	}
}

func TestHarness_FaultSurviveStop(t *testing.T) {
	pc, d, h := newFaultyHarnessTest(t, faultSurviveStop)
	task := newJarTask(t, d, h, "survivor", "Sleeper", TaskConfig{Args: []string{"600000", "0", "0"}}, 256)
	state := driverState(t, startTask(t, h, task))
	removeWhenDone(t, pc, state)
	waitLog(t, task, "stdout", "ready", 30*time.Second)

	if err := h.StopTask(task.ID, 20*time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if res := waitResult(t, h, task.ID, 10*time.Second); res.ExitCode != 143 || res.Signal != 0 || res.Err != nil {
		t.Fatalf("want the exit a stopped JVM shows, 143, got %+v", res)
	}
	if err := h.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	if !running(state.ContainerPID) {
		t.Fatal("the JVM was stopped")
	}
	if strings.Contains(readLog(t, task, "stdout"), "shutdown hook ran") {
		t.Error("the JVM got the stop signal")
	}
}

func TestHarness_FaultLeakContainer(t *testing.T) {
	pc, d, h := newFaultyHarnessTest(t, faultLeakContainer)
	task := newJarTask(t, d, h, "leak", "Exit", TaskConfig{Args: []string{"0"}}, 256)
	state := driverState(t, startTask(t, h, task))
	removeWhenDone(t, pc, state)
	if res := waitResult(t, h, task.ID, time.Minute); !res.Successful() {
		t.Fatalf("want success, got %+v", res)
	}

	if err := h.DestroyTask(task.ID, false); err != nil {
		t.Fatal(err)
	}
	left := []string{filepath.Join(state.CrunRoot, state.ContainerID), state.BundleDir}
	hs, err := cgroupHierarchies()
	if err != nil {
		t.Fatal(err)
	}
	if dir, ok := cgroupDir(hs, "memory", state.CgroupPath); ok {
		left = append(left, dir)
	}
	for _, p := range left {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("want %s left behind: %v", p, err)
		}
	}
}

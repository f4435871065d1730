package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"golang.org/x/sys/unix"
)

// The monitor is this binary started as `nomad-driver-crunjar monitor <json>`.
// It owns one container for its whole life, so tasks outlive the plugin and
// the Nomad agent: it creates and starts the container with the log FIFOs as
// the JVM's stdout/stderr, reaps the JVM as child subreaper to learn its
// exact wait status, and leaves the result in <bundle>/exit.json.

const (
	monitorArg = "monitor"

	// Files in a container's bundle directory.
	bundleConfig     = "config.json"
	bundleRootfs     = "rootfs"
	bundleCrunLog    = "crun.log"
	bundlePidFile    = "container.pid"
	bundleExitFile   = "exit.json"
	bundleMonitorLog = "monitor.log"

	// statusFD is the pipe on which the monitor reports startup to the driver.
	statusFD = 3

	fifoOpenTimeout = 60 * time.Second
	// monitorStartTimeout bounds StartTask: opening the log FIFOs plus crun
	// create and start.
	monitorStartTimeout = fifoOpenTimeout + 2*crunTimeout
)

// monitorConfig is the monitor's command line argument.
type monitorConfig struct {
	Crun        string `json:"crun"`
	Root        string `json:"root"`
	Bundle      string `json:"bundle"`
	ContainerID string `json:"id"`
	Stdout      string `json:"stdout"`
	Stderr      string `json:"stderr"`
	Cgroup      string `json:"cgroup"`
	// Faults are the plugin's CRUNJAR_FAULTS; the monitor acts on
	// wrong-exit-code and truncate-stdout.
	Faults faultSet `json:"faults,omitempty"`
}

// exitStatus is <bundle>/exit.json.
type exitStatus struct {
	ExitCode   int       `json:"exit_code"`
	Signal     int       `json:"signal"`
	OOMKilled  bool      `json:"oom_killed"`
	FinishedAt time.Time `json:"finished_at"`
	Error      string    `json:"error,omitempty"`
}

// runMonitor is the monitor's main; it returns the process exit code.
func runMonitor(arg string) int {
	status := os.NewFile(statusFD, "status")
	report := func(msg string) {
		if status != nil {
			fmt.Fprintln(status, msg)
			status.Close()
			status = nil
		}
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crunjar monitor:", err)
		report("failed: " + err.Error())
		return 1
	}

	var cfg monitorConfig
	if err := json.Unmarshal([]byte(arg), &cfg); err != nil {
		return fail(fmt.Errorf("bad monitor config: %v", err))
	}
	// The driver may die at any time; its pipe and terminal must not take
	// the monitor with it.
	signal.Ignore(unix.SIGHUP, unix.SIGINT, unix.SIGPIPE)
	// The JVM is forked by `crun create`, which exits; as subreaper the
	// monitor inherits it and can wait4 it for its real exit status.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %v", err))
	}

	pid, err := startContainer(&cfg)
	if err != nil {
		c := crunCLI{Path: cfg.Crun, Root: cfg.Root}
		if derr := c.delete(cfg.ContainerID); derr != nil {
			fmt.Fprintln(os.Stderr, "crunjar monitor: cleanup:", derr)
		}
		return fail(err)
	}
	report(fmt.Sprintf("started %d", pid))

	st := waitContainer(pid)
	if cfg.Faults.has(faultWrongExitCode) && st.Signal != 0 {
		// A JVM killed by a signal is recorded as a clean exit.
		st.ExitCode, st.Signal = 0, 0
	}
	if n, err := oomKillCount(cfg.Cgroup); err != nil {
		fmt.Fprintln(os.Stderr, "crunjar monitor: reading OOM counter:", err)
	} else {
		st.OOMKilled = n > 0
	}
	st.FinishedAt = time.Now()
	if err := writeExitStatus(cfg.Bundle, st); err != nil {
		fmt.Fprintln(os.Stderr, "crunjar monitor:", err)
		return 1
	}
	return 0
}

// startContainer runs `crun create` and `crun start` and returns the JVM's
// host pid. The JVM writes straight into Nomad's log FIFOs.
func startContainer(cfg *monitorConfig) (int, error) {
	stdout, err := openOutput(cfg.Stdout)
	if err != nil {
		return 0, err
	}
	if cfg.Faults.has(faultTruncateStdout) {
		// The JVM writes into a relay that loses the last line at exit.
		if stdout, err = lossyStdout(stdout, lastLineHoldBack); err != nil {
			return 0, err
		}
	}
	defer stdout.Close()
	stderr, err := openOutput(cfg.Stderr)
	if err != nil {
		return 0, err
	}
	defer stderr.Close()

	logPath := filepath.Join(cfg.Bundle, bundleCrunLog)
	pidPath := filepath.Join(cfg.Bundle, bundlePidFile)
	runtime := filepath.Base(cfg.Crun)
	// --debug makes crun log warnings too; crun 1.8 only warns about
	// unknown capabilities, and a task must not start without them.
	create := exec.Command(cfg.Crun, "--root", cfg.Root, "--log", logPath, "--log-format", "json", "--debug",
		"create", "--bundle", cfg.Bundle, "--pid-file", pidPath, cfg.ContainerID)
	create.Stdout, create.Stderr = stdout, stderr
	err = create.Run()
	msgs, warned := crunLogMessages(logPath)
	if err != nil {
		if len(msgs) == 0 {
			// The runtime's own stdout and stderr are the task's.
			return 0, fmt.Errorf("%s create failed (%v) and logged no reason; see the task's stderr", runtime, err)
		}
		return 0, fmt.Errorf("%s create failed (%v): %s", runtime, err, strings.Join(msgs, "; "))
	}
	if warned {
		return 0, fmt.Errorf("%s create: %s", runtime, strings.Join(msgs, "; "))
	}
	data, err := os.ReadFile(pidPath)
	if err != nil {
		return 0, fmt.Errorf("%s create wrote no pid file: %v", runtime, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("bad pid file %s: %q", pidPath, data)
	}

	start := exec.Command(cfg.Crun, "--root", cfg.Root, "--log", logPath, "--log-format", "json", "start", cfg.ContainerID)
	if out, err := start.CombinedOutput(); err != nil {
		msgs, _ := crunLogMessages(logPath)
		return 0, fmt.Errorf("%s start failed (%v): %s %s", runtime, err, strings.TrimSpace(string(out)), strings.Join(msgs, "; "))
	}
	return pid, nil
}

// openOutput opens a log FIFO for writing. Opening a FIFO blocks until
// Nomad's log collector has it open for reading, so this is bounded.
func openOutput(path string) (*os.File, error) {
	if path == "" {
		path = os.DevNull
	}
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("opening task log %s: %v", path, r.err)
		}
		return r.f, nil
	case <-time.After(fifoOpenTimeout):
		return nil, fmt.Errorf("opening task log %s: no reader after %s", path, fifoOpenTimeout)
	}
}

// waitContainer reaps children until the JVM is among them.
func waitContainer(pid int) exitStatus {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return exitStatus{ExitCode: -1, Error: fmt.Sprintf("waiting for container process %d: %v", pid, err)}
		}
		if wpid != pid {
			continue
		}
		if ws.Signaled() {
			// Shells report death by signal N as 128+N; Nomad does too.
			return exitStatus{ExitCode: 128 + int(ws.Signal()), Signal: int(ws.Signal())}
		}
		return exitStatus{ExitCode: ws.ExitStatus()}
	}
}

// writeExitStatus writes exit.json atomically so readers never see half.
func writeExitStatus(bundle string, st exitStatus) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(bundle, bundleExitFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("writing exit status: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(bundle, bundleExitFile)); err != nil {
		return fmt.Errorf("writing exit status: %v", err)
	}
	return nil
}

// readExitStatus reads exit.json; ok is false when it does not exist yet.
func readExitStatus(bundle string) (st exitStatus, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(bundle, bundleExitFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, false, fmt.Errorf("parsing %s: %v", bundleExitFile, err)
	}
	return st, true, nil
}

// startMonitor starts the task's monitor in its own session and waits for
// it to report that the container runs (or why it does not).
func (d *Driver) startMonitor(state *TaskState, cfg *drivers.TaskConfig) (*exec.Cmd, int, error) {
	mc := monitorConfig{
		Crun:        state.CrunPath,
		Root:        state.CrunRoot,
		Bundle:      state.BundleDir,
		ContainerID: state.ContainerID,
		Stdout:      cfg.StdoutPath,
		Stderr:      cfg.StderrPath,
		Cgroup:      state.CgroupPath,
		Faults:      d.faults,
	}
	arg, err := json.Marshal(mc)
	if err != nil {
		return nil, 0, err
	}
	logFile, err := os.OpenFile(filepath.Join(state.BundleDir, bundleMonitorLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("creating monitor log: %v", err)
	}
	defer logFile.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	defer statusR.Close()

	cmd := exec.Command(d.monitorPath, monitorArg, string(arg))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{statusW} // fd 3 == statusFD
	// Own session: signals aimed at the agent or plugin never reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("starting crunjar monitor %s: %v", d.monitorPath, err)
	}
	state.MonitorPID = cmd.Process.Pid
	state.MonitorStart, err = processStartTime(cmd.Process.Pid)
	if err != nil {
		d.logger.Warn("reading monitor start time", "pid", cmd.Process.Pid, "error", err)
	}

	lineCh := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(statusR)
		lineCh <- strings.TrimSpace(string(data))
	}()
	var line string
	select {
	case line = <-lineCh:
	case <-time.After(monitorStartTimeout):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, 0, fmt.Errorf("container %s did not start within %s", state.ContainerID, monitorStartTimeout)
	}
	if rest, ok := strings.CutPrefix(line, "started "); ok {
		if pid, err := strconv.Atoi(rest); err == nil {
			return cmd, pid, nil
		}
	}
	_ = cmd.Wait()
	if msg, ok := strings.CutPrefix(line, "failed: "); ok {
		return nil, 0, errors.New(msg)
	}
	logText, _ := os.ReadFile(filepath.Join(state.BundleDir, bundleMonitorLog))
	return nil, 0, fmt.Errorf("crunjar monitor exited unexpectedly: %q %s", line, bytes.TrimSpace(logText))
}

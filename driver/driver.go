package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"golang.org/x/sys/unix"
)

const (
	pluginName    = "crunjar"
	pluginVersion = "0.1.0"

	// killTimeout is how long to wait for a container after SIGKILL.
	killTimeout = 30 * time.Second
)

var (
	pluginInfo = &base.PluginInfoResponse{
		Type:              base.PluginTypeDriver,
		PluginApiVersions: []string{drivers.ApiVersion010},
		PluginVersion:     pluginVersion,
		Name:              pluginName,
	}

	driverCapabilities = &drivers.Capabilities{
		SendSignals: true,
		Exec:        true,
		// Image isolation makes Nomad set NOMAD_TASK_DIR=/local and friends,
		// which is where the container sees the task directories.
		FSIsolation: drivers.FSIsolationImage,
		NetIsolationModes: []drivers.NetIsolationMode{
			drivers.NetIsolationModeHost,
			drivers.NetIsolationModeGroup,
		},
		MountConfigs: drivers.MountConfigSupportAll,
	}

	_ drivers.DriverPlugin            = (*Driver)(nil)
	_ drivers.ExecTaskStreamingDriver = (*Driver)(nil)
)

// Driver runs Java applications in crun containers.
type Driver struct {
	ctx    context.Context
	logger hclog.Logger

	eventer     *eventer.Eventer
	config      PluginConfig
	nomadConfig *base.ClientDriverConfig
	tasks       *taskStore
	jdks        *jdkCatalog
	fp          *fingerprinter

	// monitorPath is the binary started as `<monitorPath> monitor <json>`;
	// normally this plugin binary itself.
	monitorPath string

	// faults are the deliberate bugs CRUNJAR_FAULTS asks for (faults.go);
	// faultsErr says why its value was refused.
	faults    faultSet
	faultsErr error
}

// NewDriver returns a driver with the default configuration.
func NewDriver(ctx context.Context, logger hclog.Logger) *Driver {
	logger = logger.Named(pluginName)
	exe, err := os.Executable()
	if err != nil {
		logger.Error("cannot find own executable; tasks cannot start", "error", err)
	}
	d := &Driver{
		ctx:         ctx,
		logger:      logger,
		eventer:     eventer.NewEventer(ctx, logger),
		tasks:       newTaskStore(),
		monitorPath: exe,
	}
	d.faults, d.faultsErr = parseFaults(os.Getenv(faultsEnv))
	d.logFaults()
	if err := d.applyConfig(PluginConfig{}); err != nil {
		logger.Error("default configuration is invalid", "error", err)
	}
	return d
}

func (d *Driver) applyConfig(cfg PluginConfig) error {
	if err := cfg.normalize(); err != nil {
		return err
	}
	d.config = cfg
	d.jdks = newJDKCatalog(cfg.JavaRuntimes)
	d.fp = &fingerprinter{}
	return nil
}

func (d *Driver) PluginInfo() (*base.PluginInfoResponse, error) { return pluginInfo, nil }

func (d *Driver) ConfigSchema() (*hclspec.Spec, error) { return configSpec, nil }

func (d *Driver) SetConfig(cfg *base.Config) error {
	var pc PluginConfig
	if cfg != nil && len(cfg.PluginConfig) != 0 {
		if err := base.MsgPackDecode(cfg.PluginConfig, &pc); err != nil {
			return fmt.Errorf("decoding crunjar plugin config: %v", err)
		}
	}
	if err := d.applyConfig(pc); err != nil {
		return fmt.Errorf("invalid crunjar plugin config: %v", err)
	}
	if cfg != nil && cfg.AgentConfig != nil {
		d.nomadConfig = cfg.AgentConfig.Driver
	}
	return nil
}

func (d *Driver) TaskConfigSchema() (*hclspec.Spec, error) { return taskConfigSpec, nil }

func (d *Driver) Capabilities() (*drivers.Capabilities, error) { return driverCapabilities, nil }

func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.eventer.TaskEvents(ctx)
}

func (d *Driver) StartTask(cfg *drivers.TaskConfig) (_ *drivers.TaskHandle, _ *drivers.DriverNetwork, err error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task with ID %q already started", cfg.ID)
	}
	if d.faults.has(faultSlowStart) {
		time.Sleep(slowStartDelay)
	}
	defer func() {
		if err != nil {
			releaseLogFIFOs(cfg.StdoutPath, cfg.StderrPath)
		}
	}()
	var tc TaskConfig
	if err := cfg.DecodeDriverConfig(&tc); err != nil {
		return nil, nil, fmt.Errorf("failed to decode driver config: %v", err)
	}
	c, err := d.crun()
	if err != nil {
		return nil, nil, err
	}
	id := containerID(cfg.AllocID, cfg.Name)
	cs, err := d.prepareSpec(cfg, &tc, id)
	if err != nil {
		return nil, nil, err
	}
	bundle := filepath.Join(d.config.bundlesDir(), id)

	// A container of an earlier run of this task that Nomad no longer
	// tracks would block the name.
	if c.exists(id) {
		d.logger.Warn("removing stale container", "container_id", id)
	}
	if err := cleanupContainer(c, id, bundle, cs.CgroupsPath); err != nil {
		return nil, nil, fmt.Errorf("removing stale container %s: %v", id, err)
	}
	if err := os.MkdirAll(d.config.CrunRoot, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating crun root: %v", err)
	}
	if err := writeBundle(bundle, cs); err != nil {
		os.RemoveAll(bundle)
		return nil, nil, err
	}

	state := TaskState{
		TaskConfig:  cfg,
		ContainerID: id,
		BundleDir:   bundle,
		CrunPath:    c.Path,
		CrunRoot:    c.Root,
		CgroupPath:  cs.CgroupsPath,
	}
	cmd, pid, err := d.startMonitor(&state, cfg)
	if err != nil {
		if cerr := cleanupContainer(c, id, bundle, cs.CgroupsPath); cerr != nil {
			d.logger.Error("cleaning up after failed start", "container_id", id, "error", cerr)
		}
		return nil, nil, err
	}
	state.ContainerPID = pid
	state.StartedAt = time.Now().Round(time.Millisecond)

	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	if err := handle.SetDriverState(&state); err != nil {
		_ = c.kill(id, unix.SIGKILL)
		_ = cmd.Wait()
		_ = cleanupContainer(c, id, bundle, cs.CgroupsPath)
		return nil, nil, fmt.Errorf("failed to set driver state: %v", err)
	}

	h := newTaskHandle(d.logger, state, func() { _ = cmd.Wait() })
	h.onExit = d.exitEvent(cfg, cs.MemoryLimit)
	d.tasks.Set(cfg.ID, h)
	go h.run()
	d.logger.Info("started task", "task_id", cfg.ID, "container_id", id, "pid", pid,
		"monitor_pid", state.MonitorPID, "command", strings.Join(cs.Args, " "))
	if d.faults.has(faultHangStart) {
		// The JVM runs, but Nomad never hears that it started.
		return nil, nil, d.hang("StartTask")
	}
	return handle, nil, nil
}

// releaseLogFIFOs opens and closes the write side of Nomad's log FIFOs once,
// for a task that failed to start. Nomad's log collector blocks opening their
// read side until a writer appears; when none ever does, stopping it waits out
// a 2 s tolerance per stream and logs "timed out waiting for read-side of
// process output pipe to close", which delays every failed start (and each
// restart attempt) by seconds. The end of file it sees instead is what a task
// that exits produces. Without a reader waiting, the non-blocking open fails
// and nothing happens.
func releaseLogFIFOs(paths ...string) {
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			continue
		}
		if f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// exitEvent emits a task event when a container was OOM killed, so the
// reason is visible next to Nomad's own "Terminated" event.
func (d *Driver) exitEvent(cfg *drivers.TaskConfig, memLimit int64) func(*drivers.ExitResult) {
	return func(res *drivers.ExitResult) {
		if !res.OOMKilled {
			return
		}
		msg := "OOM killed: the container exceeded its memory limit"
		if memLimit > 0 {
			msg = fmt.Sprintf("OOM killed: the container exceeded its memory limit of %d MiB", memLimit/(1024*1024))
		}
		_ = d.eventer.EmitEvent(&drivers.TaskEvent{
			TaskID:    cfg.ID,
			TaskName:  cfg.Name,
			AllocID:   cfg.AllocID,
			Timestamp: time.Now(),
			Message:   msg,
		})
	}
}

func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil {
		return fmt.Errorf("handle cannot be nil")
	}
	taskID := handle.Config.ID
	// A task this instance tracks means the agent restarted and reattached
	// to it.
	h, tracked := d.tasks.Get(taskID)
	how := []any{"state", "already tracked"}
	if !tracked {
		if d.faults.has(faultRecoverFails) {
			// A restarted plugin cannot reattach: Nomad starts the task anew.
			return fmt.Errorf("recovering task %s: crunjar fault %s", taskID, faultRecoverFails)
		}
		var err error
		if h, err = d.recoverHandle(handle); err != nil {
			return err
		}
		d.tasks.Set(taskID, h)
		if h.IsRunning() {
			go h.run()
			how = []any{"monitor_pid", h.state.MonitorPID, "state", "running"}
		} else {
			how = []any{"state", "exited", "exit_code", h.result().ExitCode}
		}
	}
	d.logger.Info("recovered task", append([]any{"task_id", taskID, "container_id", h.state.ContainerID,
		"pid", h.state.ContainerPID}, how...)...)
	return nil
}

// recoverHandle rebuilds a task's handle from the state Nomad kept: exited
// when its monitor left an exit status, else waiting for the monitor again.
func (d *Driver) recoverHandle(handle *drivers.TaskHandle) (*taskHandle, error) {
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil {
		return nil, fmt.Errorf("failed to decode crunjar task state: %v", err)
	}
	if state.TaskConfig == nil {
		state.TaskConfig = handle.Config
	}
	st, done, err := readExitStatus(state.BundleDir)
	if err != nil {
		return nil, fmt.Errorf("recovering task %s: %v", handle.Config.ID, err)
	}
	if done {
		return newExitedHandle(d.logger, state, st), nil
	}

	fd, err := openProcess(state.MonitorPID, state.MonitorStart)
	if err != nil {
		// The monitor may have written exit.json just before exiting.
		if st, done, rerr := readExitStatus(state.BundleDir); rerr == nil && done {
			return newExitedHandle(d.logger, state, st), nil
		}
		// Nobody can learn how the container ends any more, and Nomad
		// forgets the task after this error: remove the container.
		c := &crunCLI{Path: state.CrunPath, Root: state.CrunRoot}
		if cerr := cleanupContainer(c, state.ContainerID, state.BundleDir, state.CgroupPath); cerr != nil {
			d.logger.Warn("removing unrecoverable container", "container_id", state.ContainerID, "error", cerr)
		}
		return nil, fmt.Errorf("cannot recover task %s: its crunjar monitor (pid %d) is gone and left no exit status in %s (%v); the container was removed",
			handle.Config.ID, state.MonitorPID, state.BundleDir, err)
	}
	memLimit, _, _, _ := resourceLimits(state.TaskConfig.Resources)
	h := newTaskHandle(d.logger, state, func() { waitPidfd(fd) })
	h.onExit = d.exitEvent(state.TaskConfig, memLimit)
	return h, nil
}

func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	ch := make(chan *drivers.ExitResult)
	go func() {
		defer close(ch)
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case <-h.doneCh:
		}
		select {
		case ch <- h.result():
		case <-ctx.Done():
		case <-d.ctx.Done():
		}
	}()
	return ch, nil
}

// parseSignal accepts "SIGTERM", "TERM" or "15"; empty means SIGTERM.
func parseSignal(name string) (unix.Signal, error) {
	if name == "" {
		return unix.SIGTERM, nil
	}
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", name)
}

// handleAndSignal finds the task and parses the signal Nomad names for it.
func (d *Driver) handleAndSignal(taskID, signal string) (*taskHandle, unix.Signal, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, 0, drivers.ErrTaskNotFound
	}
	sig, err := parseSignal(signal)
	return h, sig, err
}

func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	h, sig, err := d.handleAndSignal(taskID, signal)
	if err != nil {
		return err
	}
	if !h.IsRunning() {
		return nil
	}
	if d.faults.has(faultHangStop) {
		return d.hang("StopTask")
	}
	if d.faults.has(faultSurviveStop) {
		// Nomad sees the exit it expects; the JVM never gets the signal.
		return h.abandon(sig)
	}
	if err := h.crun.kill(h.state.ContainerID, sig); err != nil && !h.waitDone(time.Second) {
		d.logger.Warn("sending stop signal failed; killing", "container_id", h.state.ContainerID, "error", err)
	}
	if h.waitDone(timeout) {
		return nil
	}
	d.logger.Info("task did not stop in time; sending SIGKILL", "container_id", h.state.ContainerID, "timeout", timeout)
	kill := h.crun.kill
	if d.faults.has(faultKillRuntimeOnly) {
		// The monitor dies instead of the JVM, which runs on.
		kill = h.killMonitor
	}
	if err := kill(h.state.ContainerID, unix.SIGKILL); err != nil && !h.waitDone(time.Second) {
		return err
	}
	if !h.waitDone(killTimeout) {
		return fmt.Errorf("container %s did not exit %s after SIGKILL", h.state.ContainerID, killTimeout)
	}
	return nil
}

func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		// Already destroyed; there is nothing left to remove.
		return nil
	}
	if d.faults.has(faultSurviveStop) {
		// The task is forgotten; its container and JVM are not touched.
		d.tasks.Delete(taskID)
		return nil
	}
	if h.IsRunning() {
		if !force {
			return fmt.Errorf("cannot destroy running task %s: stop it first or force", taskID)
		}
		if err := h.crun.kill(h.state.ContainerID, unix.SIGKILL); err != nil {
			d.logger.Warn("killing container", "container_id", h.state.ContainerID, "error", err)
		}
		if !h.waitDone(killTimeout) {
			d.logger.Warn("container still running after SIGKILL; deleting anyway", "container_id", h.state.ContainerID)
		}
	}
	if d.faults.has(faultLeakContainer) {
		// The container stays in crun's root, with its bundle and cgroup.
		d.tasks.Delete(taskID)
		return nil
	}
	if err := cleanupContainer(h.crun, h.state.ContainerID, h.state.BundleDir, h.state.CgroupPath); err != nil {
		return fmt.Errorf("destroying container %s: %v", h.state.ContainerID, err)
	}
	d.tasks.Delete(taskID)
	return nil
}

func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return h.TaskStatus(), nil
}

func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	var r *drivers.Resources
	if h.state.TaskConfig != nil {
		r = h.state.TaskConfig.Resources
	}
	return h.stats(ctx, interval, coreMHz(r, usableCores(r))), nil
}

func (d *Driver) SignalTask(taskID string, signal string) error {
	h, sig, err := d.handleAndSignal(taskID, signal)
	if err != nil {
		return err
	}
	if d.faults.has(faultSignalCrash) {
		// Dereferencing the nil handle below panics the plugin process.
		h = nil
	}
	return h.crun.kill(h.state.ContainerID, sig)
}

func (d *Driver) ExecTask(taskID string, cmdArgs []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	ctx := d.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(d.ctx, timeout)
		defer cancel()
	}
	cmd, cleanup, err := h.execCommand(ctx, false, cmdArgs)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code, err := execExitCode(cmd.Run())
	if err != nil {
		return nil, err
	}
	res := &drivers.ExecTaskResult{
		Stdout:     stdout.Bytes(),
		Stderr:     stderr.Bytes(),
		ExitResult: &drivers.ExitResult{ExitCode: code},
	}
	if ctx.Err() == context.DeadlineExceeded {
		return res, fmt.Errorf("exec timed out after %s", timeout)
	}
	return res, nil
}

// ExecTaskStreaming backs `nomad alloc exec`: crun exec with the caller's
// streams, through a pseudo-terminal when one is asked for.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	cmd, cleanup, err := h.execCommand(ctx, opts.Tty, opts.Command)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if opts.Tty {
		err = runWithPty(cmd, opts)
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
		err = cmd.Run()
	}
	code, err := execExitCode(err)
	if err != nil {
		return nil, err
	}
	return &drivers.ExitResult{ExitCode: code}, nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/fsisolation"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	pluginName    = "crunjar"
	pluginVersion = "0.1.0"

	// monitorStartTimeout bounds StartTask: opening the log FIFOs plus crun
	// create and start.
	monitorStartTimeout = fifoOpenTimeout + 2*crunTimeout
	// killTimeout is how long to wait for a container after SIGKILL.
	killTimeout = 30 * time.Second

	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
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
		FSIsolation: fsisolation.Image,
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

// crun returns the crun CLI for tasks started now.
func (d *Driver) crun() (*crunCLI, error) {
	path, err := exec.LookPath(d.config.CrunPath)
	if err != nil {
		return nil, fmt.Errorf("crun not found (crun_path %q, PATH=%s): install crun or set crun_path in the crunjar plugin config", d.config.CrunPath, os.Getenv("PATH"))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return &crunCLI{Path: abs, Root: d.config.CrunRoot}, nil
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// containerID names the container after the allocation and task so
// operators can tell what runs; crun accepts [A-Za-z0-9_.-].
func containerID(allocID, taskName string) string {
	return "crunjar-" + unsafeIDChars.ReplaceAllString(allocID, "_") + "-" + unsafeIDChars.ReplaceAllString(taskName, "_")
}

// taskUser resolves a user name (or numeric uid) from /etc/passwd.
type taskUser struct {
	Name     string
	UID, GID uint32
	Groups   []uint32
}

func lookupUser(name string) (taskUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return taskUser{}, fmt.Errorf("user %q not found in /etc/passwd", name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	tu := taskUser{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != tu.GID {
				tu.Groups = append(tu.Groups, uint32(n))
			}
		}
	}
	return tu, nil
}

// permitted reports whether u has all bits of want (4 read, 2 write, 1
// execute) on a file with the given stat, by the classic owner/group/other
// rules.
func permitted(st *syscall.Stat_t, u taskUser, want uint32) bool {
	if u.UID == 0 {
		return true
	}
	mode := st.Mode
	switch {
	case st.Uid == u.UID:
		return (mode>>6)&want == want
	case st.Gid == u.GID || containsUint32(u.Groups, st.Gid):
		return (mode>>3)&want == want
	default:
		return mode&want == want
	}
}

func containsUint32(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ensureAccess makes path usable by the task user: files in the task's own
// directories are chowned to the user if needed, host files must already be
// readable.
func ensureAccess(path, shown string, u taskUser, want uint32, ownedByTask bool) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fmt.Errorf("%s: %v", shown, err)
	}
	if permitted(&st, u, want) {
		return nil
	}
	if !ownedByTask {
		return fmt.Errorf("%s is not accessible to task user %s (uid %d, mode %o, owner %d:%d)",
			shown, u.Name, u.UID, st.Mode&0o7777, st.Uid, st.Gid)
	}
	if err := os.Chown(path, int(u.UID), int(u.GID)); err != nil {
		return fmt.Errorf("giving %s to task user %s: %v", shown, u.Name, err)
	}
	return nil
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
	}
	cs.MemoryLimit, cs.MemoryReserve, cs.CPUShares, cs.CpusetCpus = resourceLimits(cfg.Resources)
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

// writeBundle creates the bundle directory with an empty rootfs and the
// OCI config.
func writeBundle(bundle string, cs *containerSpec) error {
	if err := os.MkdirAll(filepath.Join(bundle, bundleRootfs), 0o755); err != nil {
		return fmt.Errorf("creating bundle: %v", err)
	}
	data, err := json.MarshalIndent(buildSpec(cs, systemDirsPresent()), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, bundleConfig), data, 0o600); err != nil {
		return fmt.Errorf("writing OCI config: %v", err)
	}
	return nil
}

// cleanupContainer removes every trace of a container; it is idempotent.
func cleanupContainer(c *crunCLI, id, bundle, cgroupPath string) error {
	var errs []error
	if err := c.delete(id); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroup(cgroupPath); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(bundle); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *Driver) StartTask(cfg *drivers.TaskConfig) (_ *drivers.TaskHandle, _ *drivers.DriverNetwork, err error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task with ID %q already started", cfg.ID)
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
	if h, ok := d.tasks.Get(handle.Config.ID); ok {
		// The agent restarted and reattached to this plugin instance.
		d.logger.Info("recovered task", "task_id", handle.Config.ID, "container_id", h.state.ContainerID,
			"pid", h.state.ContainerPID, "state", "already tracked")
		return nil
	}
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil {
		return fmt.Errorf("failed to decode crunjar task state: %v", err)
	}
	if state.TaskConfig == nil {
		state.TaskConfig = handle.Config
	}
	memLimit, _, _, _ := resourceLimits(state.TaskConfig.Resources)

	st, done, err := readExitStatus(state.BundleDir)
	if err != nil {
		return fmt.Errorf("recovering task %s: %v", handle.Config.ID, err)
	}
	if done {
		h := newExitedHandle(d.logger, state, st)
		d.tasks.Set(handle.Config.ID, h)
		d.logger.Info("recovered task", "task_id", handle.Config.ID, "container_id", state.ContainerID,
			"pid", state.ContainerPID, "state", "exited", "exit_code", st.ExitCode)
		return nil
	}

	fd, err := openProcess(state.MonitorPID, state.MonitorStart)
	if err != nil {
		// The monitor may have written exit.json just before exiting.
		if st, done, rerr := readExitStatus(state.BundleDir); rerr == nil && done {
			d.tasks.Set(handle.Config.ID, newExitedHandle(d.logger, state, st))
			d.logger.Info("recovered task", "task_id", handle.Config.ID, "container_id", state.ContainerID,
				"pid", state.ContainerPID, "state", "exited", "exit_code", st.ExitCode)
			return nil
		}
		// Nobody can learn how the container ends any more, and Nomad
		// forgets the task after this error: remove the container.
		c := &crunCLI{Path: state.CrunPath, Root: state.CrunRoot}
		if cerr := cleanupContainer(c, state.ContainerID, state.BundleDir, state.CgroupPath); cerr != nil {
			d.logger.Warn("removing unrecoverable container", "container_id", state.ContainerID, "error", cerr)
		}
		return fmt.Errorf("cannot recover task %s: its crunjar monitor (pid %d) is gone and left no exit status in %s (%v); the container was removed",
			handle.Config.ID, state.MonitorPID, state.BundleDir, err)
	}
	h := newTaskHandle(d.logger, state, func() { waitPidfd(fd) })
	h.onExit = d.exitEvent(state.TaskConfig, memLimit)
	d.tasks.Set(handle.Config.ID, h)
	go h.run()
	d.logger.Info("recovered task", "task_id", handle.Config.ID, "container_id", state.ContainerID,
		"pid", state.ContainerPID, "monitor_pid", state.MonitorPID, "state", "running")
	return nil
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
	if err := h.crun.kill(h.state.ContainerID, sig); err != nil && !h.waitDone(time.Second) {
		d.logger.Warn("sending stop signal failed; killing", "container_id", h.state.ContainerID, "error", err)
	}
	if h.waitDone(timeout) {
		return nil
	}
	d.logger.Info("task did not stop in time; sending SIGKILL", "container_id", h.state.ContainerID, "timeout", timeout)
	if err := h.crun.kill(h.state.ContainerID, unix.SIGKILL); err != nil && !h.waitDone(time.Second) {
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
	var totalMHz float64
	var cores int
	if d.nomadConfig != nil && d.nomadConfig.Topology != nil {
		c := d.nomadConfig.Topology.Compute()
		totalMHz, cores = float64(c.TotalCompute), c.NumCores
	}
	return h.stats(ctx, interval, totalMHz, cores), nil
}

func (d *Driver) SignalTask(taskID string, signal string) error {
	h, sig, err := d.handleAndSignal(taskID, signal)
	if err != nil {
		return err
	}
	return h.crun.kill(h.state.ContainerID, sig)
}

// execCommand builds `crun exec` for a command in the task's container. The
// process is the container's own with other args, so the command runs with
// the task's user, groups, environment and capabilities. The returned
// cleanup removes the process file.
func (h *taskHandle) execCommand(ctx context.Context, tty bool, argv []string) (*exec.Cmd, func(), error) {
	if len(argv) == 0 {
		return nil, nil, fmt.Errorf("no command given")
	}
	if !h.IsRunning() {
		return nil, nil, fmt.Errorf("task is not running")
	}
	data, err := os.ReadFile(filepath.Join(h.state.BundleDir, bundleConfig))
	if err != nil {
		return nil, nil, fmt.Errorf("reading container config: %v", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil || spec.Process == nil {
		return nil, nil, fmt.Errorf("parsing container config: %v", err)
	}
	proc := *spec.Process
	proc.Args = argv
	proc.Terminal = tty
	f, err := os.CreateTemp(h.state.BundleDir, "exec-*.json")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.Remove(f.Name()) }
	err = json.NewEncoder(f).Encode(&proc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("writing exec process: %v", err)
	}
	return h.crun.command(ctx, "exec", "--process", f.Name(), h.state.ContainerID), cleanup, nil
}

func (d *Driver) ExecTask(taskID string, cmdArgs []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	ctx, cancel := context.WithCancel(d.ctx)
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(d.ctx, timeout)
	}
	defer cancel()
	cmd, cleanup, err := h.execCommand(ctx, false, cmdArgs)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := &drivers.ExecTaskResult{ExitResult: &drivers.ExitResult{}}
	err = cmd.Run()
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitResult.ExitCode = exitErr.ExitCode()
	default:
		return nil, fmt.Errorf("crun exec: %v", err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		return res, fmt.Errorf("exec timed out after %s", timeout)
	}
	return res, nil
}

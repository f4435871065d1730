package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// taskHandle tracks one running or finished container.
type taskHandle struct {
	logger hclog.Logger
	state  TaskState
	crun   *crunCLI

	// waitMonitor blocks until the task's monitor process has exited.
	waitMonitor func()
	// onExit is told the result once, e.g. to emit an OOM event.
	onExit func(*drivers.ExitResult)

	mu          sync.RWMutex
	procState   drivers.TaskState
	exitResult  *drivers.ExitResult
	completedAt time.Time
	doneCh      chan struct{}
}

func newTaskHandle(logger hclog.Logger, state TaskState, waitMonitor func()) *taskHandle {
	return &taskHandle{
		logger:      logger,
		state:       state,
		crun:        &crunCLI{Path: state.CrunPath, Root: state.CrunRoot},
		waitMonitor: waitMonitor,
		procState:   drivers.TaskStateRunning,
		doneCh:      make(chan struct{}),
	}
}

// newExitedHandle is a handle for a task whose exit.json already exists.
func newExitedHandle(logger hclog.Logger, state TaskState, st exitStatus) *taskHandle {
	h := newTaskHandle(logger, state, nil)
	h.finish(exitResultFrom(st), st.FinishedAt)
	return h
}

// run waits for the monitor and collects the result it left behind.
func (h *taskHandle) run() {
	h.waitMonitor()
	st, ok, err := readExitStatus(h.state.BundleDir)
	var res *drivers.ExitResult
	switch {
	case err != nil:
		res = &drivers.ExitResult{ExitCode: -1, Err: err}
	case !ok:
		res = &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf(
			"crunjar monitor (pid %d) of container %s exited without recording the exit status; see %s",
			h.state.MonitorPID, h.state.ContainerID, h.state.BundleDir+"/"+bundleMonitorLog)}
	default:
		res = exitResultFrom(st)
	}
	finished := time.Now()
	if ok {
		finished = st.FinishedAt
	}
	h.logger.Info("task exited", "container_id", h.state.ContainerID, "exit_code", res.ExitCode,
		"signal", res.Signal, "oom_killed", res.OOMKilled, "error", res.Err)
	h.finish(res, finished)
	if h.onExit != nil {
		h.onExit(res)
	}
}

func exitResultFrom(st exitStatus) *drivers.ExitResult {
	res := &drivers.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal, OOMKilled: st.OOMKilled}
	switch {
	case st.Error != "":
		res.Err = errors.New(st.Error)
	case st.OOMKilled:
		// Shown as the exit message of Nomad's "Terminated" event.
		res.Err = errors.New("OOM killed")
	}
	return res
}

func (h *taskHandle) finish(res *drivers.ExitResult, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exitResult = res
	h.completedAt = at
	h.procState = drivers.TaskStateExited
	close(h.doneCh)
}

func (h *taskHandle) IsRunning() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.procState == drivers.TaskStateRunning
}

// result returns the exit result, nil while the task runs.
func (h *taskHandle) result() *drivers.ExitResult {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.exitResult.Copy()
}

// waitDone waits up to timeout for the task to exit.
func (h *taskHandle) waitDone(timeout time.Duration) bool {
	select {
	case <-h.doneCh:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (h *taskHandle) TaskStatus() *drivers.TaskStatus {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return &drivers.TaskStatus{
		ID:          h.state.TaskConfig.ID,
		Name:        h.state.TaskConfig.Name,
		State:       h.procState,
		StartedAt:   h.state.StartedAt,
		CompletedAt: h.completedAt,
		ExitResult:  h.exitResult.Copy(),
		DriverAttributes: map[string]string{
			"container_id":  h.state.ContainerID,
			"pid":           strconv.Itoa(h.state.ContainerPID),
			"monitor_pid":   strconv.Itoa(h.state.MonitorPID),
			"bundle_dir":    h.state.BundleDir,
			"cgroup_path":   h.state.CgroupPath,
			"crun_root_dir": h.state.CrunRoot,
		},
	}
}

// stats sends resource usage every interval until ctx ends or the task exits.
func (h *taskHandle) stats(ctx context.Context, interval time.Duration, coreMHz float64) <-chan *drivers.TaskResourceUsage {
	ch := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(ch)
		var prev cpuSample
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.doneCh:
				return
			case <-timer.C:
				timer.Reset(interval)
			}
			usage, cur, err := cgroupStats(h.state.CgroupPath)
			if err != nil {
				h.logger.Debug("reading container stats", "container_id", h.state.ContainerID, "error", err)
				continue
			}
			if !prev.at.IsZero() {
				wall := float64(cur.at.Sub(prev.at).Nanoseconds())
				pct := func(a, b float64) float64 {
					if wall <= 0 || b < a {
						return 0
					}
					return (b - a) / wall * 100
				}
				usage.CpuStats.Percent = pct(prev.total, cur.total)
				usage.CpuStats.UserMode = pct(prev.user, cur.user)
				usage.CpuStats.SystemMode = pct(prev.system, cur.system)
				usage.CpuStats.TotalTicks = usage.CpuStats.Percent / 100 * coreMHz
			}
			prev = cur
			select {
			case ch <- &drivers.TaskResourceUsage{ResourceUsage: usage, Timestamp: cur.at.UnixNano()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

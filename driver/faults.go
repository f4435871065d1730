package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Fault injection for the conformance kit's self-test: the plugin process's
// CRUNJAR_FAULTS environment variable names deliberate driver bugs, so the
// kit can prove that its suites catch a driver that has them. Each fault is
// one `if d.faults.has(...)` where the bug would be; FAULTS.md lists them.
// Nothing is injected unless the variable names a fault.

const faultsEnv = "CRUNJAR_FAULTS"

const (
	faultSignalCrash     = "signal-crash"
	faultKillRuntimeOnly = "kill-runtime-only"
	faultDropEnv         = "drop-env"
	faultNoAllocMount    = "no-alloc-mount"
	faultWrongExitCode   = "wrong-exit-code"
	faultTruncateStdout  = "truncate-stdout"
	faultSurviveStop     = "survive-stop"
	faultRecoverFails    = "recover-fails"
	faultLeakContainer   = "leak-container"
)

// faultSlowStart is for the bench's regression gate, not the kit: StartTask
// waits slowStartDelay first, a start regression `make bench-check` must catch.
const (
	faultSlowStart = "slow-start"
	slowStartDelay = 50 * time.Millisecond
)

// knownFaults is in the order of FAULTS.md.
var knownFaults = []string{
	faultSignalCrash, faultKillRuntimeOnly, faultDropEnv, faultNoAllocMount, faultWrongExitCode,
	faultTruncateStdout, faultSurviveStop, faultRecoverFails, faultLeakContainer,
	faultSlowStart,
}

// faultSet is a sorted list of distinct fault names; the monitor gets it in
// its config, so a task keeps the faults of the plugin that started it.
type faultSet []string

func (f faultSet) has(name string) bool { return slices.Contains(f, name) }

func (f faultSet) String() string { return strings.Join(f, ",") }

// parseFaults reads a CRUNJAR_FAULTS value: fault names separated by
// commas. A name it does not know is an error rather than ignored, so a
// misspelt fault cannot make a self-test pass against a correct driver.
func parseFaults(value string) (faultSet, error) {
	var set faultSet
	var unknown []string
	for _, name := range strings.Split(value, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "" || set.has(name):
		case slices.Contains(knownFaults, name):
			set = append(set, name)
		default:
			if q := strconv.Quote(name); !slices.Contains(unknown, q) {
				unknown = append(unknown, q)
			}
		}
	}
	if len(unknown) > 0 {
		what := "an unknown fault"
		if len(unknown) > 1 {
			what = "unknown faults"
		}
		return nil, fmt.Errorf("%s names %s %s; known faults: %s",
			faultsEnv, what, strings.Join(unknown, ", "), strings.Join(knownFaults, ", "))
	}
	slices.Sort(set)
	return set, nil
}

// logFaults tells the agent log about injected faults once, at start. The
// fingerprint makes a refused CRUNJAR_FAULTS the driver's health too.
func (d *Driver) logFaults() {
	switch {
	case d.faultsErr != nil:
		d.logger.Error("refusing to run tasks", "error", d.faultsErr)
	case len(d.faults) > 0:
		d.logger.Warn("fault injection is on: this plugin has deliberate bugs, for the conformance kit's self-test only",
			"faults", d.faults.String())
	}
}

// killMonitor sends sig to the task's monitor instead of its container:
// kill-runtime-only.
func (h *taskHandle) killMonitor(_ string, sig unix.Signal) error {
	return unix.Kill(h.state.MonitorPID, sig)
}

// abandon makes a task look stopped by sig while its JVM runs on
// (survive-stop): it records the exit a JVM shows for sig, then kills the
// monitor, so the task's handle reads that record as the task's end.
func (h *taskHandle) abandon(sig unix.Signal) error {
	st := exitStatus{ExitCode: 128 + int(sig), FinishedAt: time.Now()}
	if sig == unix.SIGKILL {
		st.Signal = int(sig)
	}
	if err := writeExitStatus(h.state.BundleDir, st); err != nil {
		return err
	}
	if err := h.killMonitor(h.state.ContainerID, unix.SIGKILL); err != nil {
		return err
	}
	if !h.waitDone(killTimeout) {
		return fmt.Errorf("crunjar monitor (pid %d) did not exit after SIGKILL", h.state.MonitorPID)
	}
	return nil
}

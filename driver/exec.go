package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/creack/pty"
	"github.com/hashicorp/nomad/plugins/drivers"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

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

// execExitCode turns the error of a finished `crun exec` into the command's
// exit code; any other error means the command could not be run.
func execExitCode(err error) (int, error) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), nil
	default:
		return 0, fmt.Errorf("crun exec: %v", err)
	}
}

// runWithPty gives crun a terminal, which it passes on to the process in the
// container, and relays the caller's streams and window size changes.
func runWithPty(cmd *exec.Cmd, opts *drivers.ExecOptions) error {
	ptmx, err := pty.Start(cmd)
	if err != nil {
		return err
	}
	defer ptmx.Close()

	go func() {
		for size := range opts.ResizeCh {
			_ = pty.Setsize(ptmx, &pty.Winsize{Rows: uint16(size.Height), Cols: uint16(size.Width)})
		}
	}()
	go func() { _, _ = io.Copy(ptmx, opts.Stdin) }()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Reading the pty fails with EIO once the process side is closed.
		_, _ = io.Copy(opts.Stdout, ptmx)
	}()
	err = cmd.Wait()
	wg.Wait()
	return err
}

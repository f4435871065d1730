package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"

	"github.com/creack/pty"
	"github.com/hashicorp/nomad/plugins/drivers"
)

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
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &drivers.ExitResult{}, nil
	case errors.As(err, &exitErr):
		return &drivers.ExitResult{ExitCode: exitErr.ExitCode()}, nil
	default:
		return nil, fmt.Errorf("crun exec: %v", err)
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

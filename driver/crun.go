package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// crunCLI runs subcommands of an OCI runtime (crun or runc, whose command
// lines are alike for what the driver uses) against one state root.
type crunCLI struct {
	Path string
	Root string
}

const crunTimeout = 60 * time.Second

// crun returns the OCI runtime CLI for tasks started now.
func (d *Driver) crun() (*crunCLI, error) {
	path, err := exec.LookPath(d.config.Runtime)
	if err != nil {
		return nil, fmt.Errorf("OCI runtime %q is not usable (%v; PATH=%s): install crun (or runc), or set runtime in the crunjar plugin config to an executable",
			d.config.Runtime, unwrapExecError(err), os.Getenv("PATH"))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return &crunCLI{Path: abs, Root: d.config.CrunRoot}, nil
}

func (c *crunCLI) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, c.Path, append([]string{"--root", c.Root}, args...)...)
}

// run runs a crun subcommand, returning its output and an error that
// carries crun's own message.
func (c *crunCLI) run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), crunTimeout)
	defer cancel()
	cmd := c.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("%s %s failed (%v): %s", filepath.Base(c.Path), args[0], err, msg)
	}
	return stdout.Bytes(), nil
}

// exists reports whether crun has state for the container.
func (c *crunCLI) exists(id string) bool {
	_, err := os.Stat(filepath.Join(c.Root, id))
	return err == nil
}

// kill sends sig to the container's init process (the JVM).
func (c *crunCLI) kill(id string, sig unix.Signal) error {
	_, err := c.run("kill", id, strconv.Itoa(int(sig)))
	return err
}

// delete removes the container, killing it first if it still runs.
func (c *crunCLI) delete(id string) error {
	if !c.exists(id) {
		return nil
	}
	_, err := c.run("delete", "--force", id)
	if err != nil && !c.exists(id) {
		return nil
	}
	return err
}

// unwrapExecError drops exec's repetition of the command name.
func unwrapExecError(err error) error {
	var e *exec.Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}

// version parses the first line of `<runtime> --version`, "crun version
// 1.8.1" or "runc version 1.1.5", into the runtime's name and version.
func (c *crunCLI) version() (name, version string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), crunTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.Path, "--version").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("%s --version failed (%v): %s", c.Path, err, strings.TrimSpace(string(out)))
	}
	line, _, _ := strings.Cut(string(out), "\n")
	name, version, ok := strings.Cut(strings.TrimSpace(line), " version ")
	if !ok {
		return "", "", fmt.Errorf("%s --version printed no version: %s", c.Path, strings.TrimSpace(string(out)))
	}
	return name, strings.TrimSpace(version), nil
}

// crunLogMessages returns the error and warning messages crun wrote to a
// --log-format=json log file and whether any of them was a warning.
func crunLogMessages(path string) (msgs []string, warnings bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	add := func(msg string) {
		// crun repeats some complaints, e.g. an unknown capability once per
		// capability set it appears in.
		if !seen[msg] {
			seen[msg] = true
			msgs = append(msgs, msg)
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var entry struct {
			Msg   string `json:"msg"`
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			add(line)
			continue
		}
		switch entry.Level {
		case "error", "fatal":
			add(entry.Msg)
		case "warning", "warn":
			add(entry.Msg)
			warnings = true
		}
	}
	return msgs, warnings
}

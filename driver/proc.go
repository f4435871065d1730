package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// processStartTime returns field 22 of /proc/<pid>/stat, the start time in
// clock ticks since boot; together with the pid it names a process uniquely.
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces and parentheses.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// errProcessGone means the process no longer exists (or the pid was reused).
var errProcessGone = errors.New("process is gone")

// openProcess returns a pidfd for pid if it still is the process that
// started at startTime.
func openProcess(pid int, startTime uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, errProcessGone
	}
	if err != nil {
		return -1, fmt.Errorf("pidfd_open(%d): %v", pid, err)
	}
	// Checked after opening: the pidfd pins the process, so a match now
	// means the fd refers to the right one.
	st, err := processStartTime(pid)
	if err != nil || st != startTime {
		unix.Close(fd)
		return -1, errProcessGone
	}
	return fd, nil
}

// waitPidfd blocks until the process behind a pidfd exits, then closes it.
func waitPidfd(fd int) {
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}

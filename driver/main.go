// Command nomad-driver-crunjar is a Nomad task driver that runs Java
// applications in crun containers. Started as `nomad-driver-crunjar monitor
// <json>` it is instead the per-container monitor process.
package main

import (
	"context"
	"os"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"golang.org/x/sys/unix"
)

func main() {
	// The monitor must not start a plugin server: check before serving.
	if len(os.Args) == 3 && os.Args[1] == monitorArg {
		os.Exit(runMonitor(os.Args[2]))
	}
	go exitWithParent(os.Getppid())
	plugins.ServeCtx(func(ctx context.Context, logger hclog.Logger) interface{} {
		return NewDriver(ctx, logger)
	})
}

// exitWithParent ends the plugin when the Nomad agent that started it dies.
// An orphaned plugin cannot log (its stderr pipe is gone) and would die of
// SIGPIPE in the middle of a call from a restarted agent that reattached to
// it; exiting early makes the new agent start a fresh plugin, which recovers
// the tasks from their handles. Tasks do not depend on the plugin process.
func exitWithParent(ppid int) {
	if fd, err := unix.PidfdOpen(ppid, 0); err == nil {
		// The parent may have died before the pidfd was opened.
		if os.Getppid() != ppid {
			os.Exit(0)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		os.Exit(0)
	}
	for range time.Tick(50 * time.Millisecond) {
		if os.Getppid() != ppid {
			os.Exit(0)
		}
	}
}

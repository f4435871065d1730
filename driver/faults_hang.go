package main

import "fmt"

// Faults that hang a driver call, for the framework's own safety net: a test
// whose driver never answers must fail by its timeout with what it last saw,
// and the cleanup after it must still leave nothing.
const (
	faultHangStart = "hang-start"
	faultHangStop  = "hang-stop"
)

func init() {
	knownFaults = append(knownFaults, faultHangStart, faultHangStop)
}

// hang blocks the driver call named by what until the plugin shuts down,
// as a driver stuck on a lock or a runtime that never answers would.
func (d *Driver) hang(what string) error {
	d.logger.Warn("fault injection: hanging until the plugin exits", "call", what)
	<-d.ctx.Done()
	return fmt.Errorf("crunjar fault: %s never returned", what)
}

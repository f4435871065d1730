package main

import (
	"bytes"
	"os"
	"sync"
	"time"
)

// lastLineHoldBack is how long the truncate-stdout relay keeps a task's
// newest line of output back when nothing follows it. It is longer than a
// JVM takes to exit after its last println, so that line is reliably lost.
const lastLineHoldBack = 2 * time.Second

// lossyStdout is the truncate-stdout fault: it puts a relay between the JVM
// and the stdout FIFO out (which the relay takes over) and returns the pipe
// the JVM is to write into. Like a log shipper that joins a stack trace's
// lines into one event, the relay holds the newest line back until more
// output follows or the output has been quiet for hold; its bug is that at
// the end of the output it closes the FIFO without writing the line it
// holds, so the last line a task prints before it exits is lost.
func lossyStdout(out *os.File, hold time.Duration) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		out.Close()
		return nil, err
	}
	var mu sync.Mutex
	var held []byte
	release := time.AfterFunc(hold, func() {
		mu.Lock()
		defer mu.Unlock()
		_, _ = out.Write(held)
		held = nil
	})
	release.Stop()
	go func() {
		defer out.Close()
		defer r.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			mu.Lock()
			held = append(held, buf[:n]...)
			// Everything before the newest line goes out at once.
			if i := bytes.LastIndexByte(held[:max(len(held)-1, 0)], '\n'); i >= 0 {
				_, _ = out.Write(held[:i+1])
				held = append([]byte(nil), held[i+1:]...)
			}
			if err != nil {
				release.Stop()
				held = nil
				mu.Unlock()
				return
			}
			mu.Unlock()
			release.Reset(hold)
		}
	}()
	return w, nil
}

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestHang_BlocksUntilThePluginExits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := NewDriver(ctx, hclog.NewNullLogger())
	returned := make(chan error, 1)
	go func() { returned <- d.hang("StartTask") }()
	select {
	case err := <-returned:
		t.Fatalf("hang returned before the plugin exited: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-returned:
		if err == nil || !strings.Contains(err.Error(), "StartTask never returned") {
			t.Fatalf("got %v, want an error naming StartTask", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hang did not return after the plugin's context ended")
	}
}

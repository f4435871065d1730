package main

import (
	"sync"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// taskHandleVersion versions TaskState inside Nomad's TaskHandle.
const taskHandleVersion = 1

// TaskState is stored by Nomad in the TaskHandle's DriverState; it is all
// RecoverTask has after the plugin or the agent restarted.
type TaskState struct {
	TaskConfig   *drivers.TaskConfig
	ContainerID  string
	BundleDir    string
	CrunPath     string
	CrunRoot     string
	CgroupPath   string // cgroupsPath in the OCI spec, e.g. /crunjar/<id>
	MonitorPID   int
	MonitorStart uint64 // start time of MonitorPID, guards against pid reuse
	ContainerPID int
	StartedAt    time.Time
}

// taskStore maps Nomad task IDs to handles.
type taskStore struct {
	mu    sync.RWMutex
	store map[string]*taskHandle
}

func newTaskStore() *taskStore {
	return &taskStore{store: map[string]*taskHandle{}}
}

func (ts *taskStore) Set(id string, h *taskHandle) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.store[id] = h
}

func (ts *taskStore) Get(id string) (*taskHandle, bool) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	h, ok := ts.store[id]
	return h, ok
}

func (ts *taskStore) Delete(id string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.store, id)
}

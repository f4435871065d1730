package main

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	seccompNone    = ""
	seccompDefault = "default"
)

// deniedSyscalls are refused with EPERM by the "default" seccomp profile:
// namespace and mount changes, kernel keyrings, tracing and other processes'
// memory, BPF, modules, kexec, clock and swap changes. A JVM uses none of
// them; everything else is allowed, so the profile cannot break an
// application that runs without it.
var deniedSyscalls = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "delete_module", "finit_module",
	"init_module", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "move_mount",
	"name_to_handle_at", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
	"process_vm_readv", "process_vm_writev", "ptrace", "quotactl", "reboot", "request_key", "setns",
	"settimeofday", "swapoff", "swapon", "syslog", "umount2", "unshare", "uselib", "userfaultfd",
}

// seccompProfile returns the OCI seccomp section for a task's seccomp
// setting: none for "" (the runtime's default, which for crun and runc is
// no filter) or the default profile.
func seccompProfile(name string) (*specs.LinuxSeccomp, error) {
	switch name {
	case seccompNone:
		return nil, nil
	case seccompDefault:
		errno := uint(1) // EPERM
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				{Names: append([]string(nil), deniedSyscalls...), Action: specs.ActErrno, ErrnoRet: &errno},
			},
		}, nil
	}
	return nil, fmt.Errorf("seccomp must be %q or unset, got %q", seccompDefault, name)
}

package main

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"syscall"
)

// taskUser resolves a user name (or numeric uid) from /etc/passwd.
type taskUser struct {
	Name     string
	UID, GID uint32
	Groups   []uint32
}

func lookupUser(name string) (taskUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return taskUser{}, fmt.Errorf("user %q not found in /etc/passwd", name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	tu := taskUser{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != tu.GID {
				tu.Groups = append(tu.Groups, uint32(n))
			}
		}
	}
	return tu, nil
}

// permitted reports whether u has all bits of want (4 read, 2 write, 1
// execute) on a file with the given stat, by the classic owner/group/other
// rules.
func permitted(st *syscall.Stat_t, u taskUser, want uint32) bool {
	if u.UID == 0 {
		return true
	}
	mode := st.Mode
	switch {
	case st.Uid == u.UID:
		return (mode>>6)&want == want
	case st.Gid == u.GID || slices.Contains(u.Groups, st.Gid):
		return (mode>>3)&want == want
	default:
		return mode&want == want
	}
}

// ensureAccess makes path usable by the task user: files in the task's own
// directories are chowned to the user if needed, host files must already be
// readable.
func ensureAccess(path, shown string, u taskUser, want uint32, ownedByTask bool) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fmt.Errorf("%s: %v", shown, err)
	}
	if permitted(&st, u, want) {
		return nil
	}
	if !ownedByTask {
		return fmt.Errorf("%s is not accessible to task user %s (uid %d, mode %o, owner %d:%d)",
			shown, u.Name, u.UID, st.Mode&0o7777, st.Uid, st.Gid)
	}
	if err := os.Chown(path, int(u.UID), int(u.GID)); err != nil {
		return fmt.Errorf("giving %s to task user %s: %v", shown, u.Name, err)
	}
	return nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestLookupUserAndPermissions(t *testing.T) {
	u, err := lookupUser("nobody")
	if err != nil || u.UID != 65534 {
		t.Fatalf("nobody: %+v %v", u, err)
	}
	if _, err := lookupUser("no-such-user-crunjar"); err == nil || !strings.Contains(err.Error(), `user "no-such-user-crunjar" not found`) {
		t.Fatalf("unknown user: %v", err)
	}
	if r, err := lookupUser("0"); err != nil || r.UID != 0 {
		t.Fatalf("numeric: %+v %v", r, err)
	}

	for _, c := range []struct {
		mode, uid, gid uint32
		want           uint32
		ok             bool
	}{
		{0o644, 0, 0, 4, true},
		{0o640, 0, 0, 4, false},
		{0o640, 0, 65534, 4, true},
		{0o600, 65534, 0, 4, true},
		{0o755, 0, 0, 7, false},
		{0o777, 0, 0, 7, true},
	} {
		st := &syscall.Stat_t{Mode: c.mode, Uid: c.uid, Gid: c.gid}
		if got := permitted(st, u, c.want); got != c.ok {
			t.Errorf("mode %o owner %d:%d want %d: got %v", c.mode, c.uid, c.gid, c.want, got)
		}
	}

	if os.Geteuid() != 0 {
		return
	}
	dir := t.TempDir()
	jar := filepath.Join(dir, "app.jar")
	if err := os.WriteFile(jar, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ensureAccess(jar, "/srv/app.jar", u, 4, false); err == nil || !strings.Contains(err.Error(), "/srv/app.jar is not accessible to task user nobody") {
		t.Fatalf("host file: %v", err)
	}
	if err := ensureAccess(jar, "local/app.jar", u, 4, true); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(jar, &st); err != nil || st.Uid != u.UID {
		t.Fatalf("task file not given to the task user: %+v %v", st, err)
	}
}

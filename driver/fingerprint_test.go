package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// fakeCrun writes a crun stand-in that reports a version and fails every
// container with the given message.
func fakeCrun(t *testing.T, failure string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "crun")
	script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'crun version 9.9.9'; exit 0; fi\necho '" + failure + "' >&2\nexit 1\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func fingerprintWith(t *testing.T, pc PluginConfig) *drivers.Fingerprint {
	t.Helper()
	d := NewDriver(context.Background(), hclog.NewNullLogger())
	if err := d.applyConfig(pc); err != nil {
		t.Fatal(err)
	}
	return d.buildFingerprint()
}

func TestFingerprint_Unhealthy(t *testing.T) {
	if os.Geteuid() != 0 {
		fp := fingerprintWith(t, PluginConfig{})
		if fp.Health != drivers.HealthStateUndetected {
			t.Fatalf("non-root: %+v", fp)
		}
		return
	}
	jdkHome := fakeJDK(t, filepath.Join(t.TempDir(), "jdk"), "21.0.1", 0)

	fp := fingerprintWith(t, PluginConfig{Runtime: "no-such-crun", JavaRuntimes: []string{jdkHome}})
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, `OCI runtime "no-such-crun" is not usable (executable file not found in $PATH`) {
		t.Errorf("missing runtime: %+v", fp)
	}
	notExecutable := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fp = fingerprintWith(t, PluginConfig{Runtime: notExecutable, JavaRuntimes: []string{jdkHome}})
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, "is not usable (permission denied") {
		t.Errorf("runtime not executable: %+v", fp)
	}

	crun := fakeCrun(t, "cgroups in hybrid mode not supported, drop all controllers from cgroupv2")
	fp = fingerprintWith(t, PluginConfig{Runtime: crun, JavaRuntimes: []string{jdkHome}, StateDir: t.TempDir()})
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, "make deps") ||
		!strings.Contains(fp.HealthDescription, "mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb") {
		t.Errorf("hybrid cgroups: %+v", fp)
	}
	if fp.Attributes["driver.crunjar.runtime_version"].GoString() != "9.9.9" || fp.Attributes["driver.crunjar.runtime"].GoString() != "crun" ||
		fp.Attributes["driver.crunjar.java.21.home"].GoString() != jdkHome {
		t.Errorf("attributes: %v", fp.Attributes)
	}

	broken := fakeJDK(t, filepath.Join(t.TempDir(), "broken"), "", 1)
	fp = fingerprintWith(t, PluginConfig{Runtime: crun, JavaRuntimes: []string{broken}})
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, "no working JDK found; searched "+broken) ||
		!strings.Contains(fp.HealthDescription, "could not find libjava.so") {
		t.Errorf("broken JDK: %+v", fp)
	}

	fp = fingerprintWith(t, PluginConfig{Runtime: crun, JavaRuntimes: []string{jdkHome}, DefaultJavaVersion: 17})
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, "default_java_version 17 is not installed; available: 21") {
		t.Errorf("default version: %+v", fp)
	}
}

func TestProbeFailure_NamesTheCgroupParent(t *testing.T) {
	msg := "creating cgroup directory `/sys/fs/cgroup/memory/cgroup.procs/x/probe`: Not a directory"
	err := probeFailure("/usr/bin/crun", "cgroup.procs/x", errors.New("exit status 1"), []string{msg}, msg)
	want := `cgroup_parent "cgroup.procs/x" is not usable: /usr/bin/crun cannot create a container's cgroup under it ` +
		"(exit status 1): " + msg + ". Set cgroup_parent in the crunjar plugin config"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want prefix %q", err, want)
	}
	err = probeFailure("/usr/bin/crun", "crunjar", errors.New("exit status 1"), nil, "no such file")
	if err == nil || err.Error() != "/usr/bin/crun cannot start a test container (exit status 1): no such file" {
		t.Errorf("other failure: %v", err)
	}
}

func TestHarness_Fingerprint(t *testing.T) {
	pc, d, h := newHarnessTest(t)
	ch, err := h.Fingerprint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case fp := <-ch:
		if fp.Health != drivers.HealthStateHealthy {
			t.Fatalf("unhealthy: %s", fp.HealthDescription)
		}
		def := d.jdks.scan().JDKs[0]
		for _, attr := range []string{"driver.crunjar.runtime_version", "driver.crunjar.default_java_version", "driver.crunjar.java." + strconv.Itoa(def.Major) + ".home"} {
			if _, ok := fp.Attributes[attr]; !ok {
				t.Errorf("missing attribute %s in %v", attr, fp.Attributes)
			}
		}
	case <-time.After(time.Minute):
		t.Fatal("no fingerprint")
	}
	// The probe container is gone.
	entries, _ := os.ReadDir(filepath.Join(pc.StateDir, "probe"))
	if len(entries) != 0 {
		t.Errorf("probe bundles left: %v", entries)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	pstructs "github.com/hashicorp/nomad/plugins/shared/structs"
)

const (
	fingerprintPeriod          = 30 * time.Second
	fingerprintUnhealthyPeriod = 10 * time.Second

	attrPrefix = "driver." + pluginName

	hybridCgroupHelp = "crun reports \"cgroups in hybrid mode not supported\": this host mounts cgroup v1 " +
		"controllers together with cgroup2 at /sys/fs/cgroup/unified, and crun 1.8 only copes with that when " +
		"hugetlb has its own v1 hierarchy. Fix: run `make deps`, or " +
		"`mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb`"
)

// fingerprinter remembers the crun probe result (a container start is too
// costly to repeat every period once it worked) and the last health, to log
// changes.
type fingerprinter struct {
	mu         sync.Mutex
	crunWorked string // crun path whose probe container ran
	lastHealth string
}

func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go func() {
		defer close(ch)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.ctx.Done():
				return
			case <-timer.C:
			}
			fp := d.buildFingerprint()
			d.logHealth(fp)
			select {
			case ch <- fp:
			case <-ctx.Done():
				return
			case <-d.ctx.Done():
				return
			}
			if fp.Health == drivers.HealthStateHealthy {
				timer.Reset(fingerprintPeriod)
			} else {
				timer.Reset(fingerprintUnhealthyPeriod)
			}
		}
	}()
	return ch, nil
}

// logHealth logs the first fingerprint and every change of health, so the
// agent log says why the driver is (un)usable.
func (d *Driver) logHealth(fp *drivers.Fingerprint) {
	key := string(fp.Health) + ": " + fp.HealthDescription
	d.fp.mu.Lock()
	changed := key != d.fp.lastHealth
	d.fp.lastHealth = key
	d.fp.mu.Unlock()
	if !changed {
		return
	}
	if fp.Health == drivers.HealthStateHealthy {
		d.logger.Info("crunjar driver is healthy", "description", fp.HealthDescription)
	} else {
		d.logger.Warn("crunjar driver is not healthy", "health", fp.Health, "description", fp.HealthDescription)
	}
}

func (d *Driver) buildFingerprint() *drivers.Fingerprint {
	fp := &drivers.Fingerprint{Attributes: map[string]*pstructs.Attribute{}}
	unhealthy := func(format string, args ...any) *drivers.Fingerprint {
		fp.Health = drivers.HealthStateUnhealthy
		fp.HealthDescription = fmt.Sprintf(format, args...)
		return fp
	}
	// A test run shows its injected faults in the node's attributes; a
	// refused CRUNJAR_FAULTS keeps tasks off the driver.
	if d.faultsErr != nil {
		return unhealthy("%v", d.faultsErr)
	}
	if len(d.faults) > 0 {
		fp.Attributes[attrPrefix+".faults"] = pstructs.NewStringAttribute(d.faults.String())
	}
	if os.Geteuid() != 0 {
		fp.Health = drivers.HealthStateUndetected
		fp.HealthDescription = "crunjar must run as root: crun needs it to create containers and cgroups"
		return fp
	}

	c, err := d.crun()
	if err != nil {
		return unhealthy("%v", err)
	}
	name, version, err := c.version()
	if err != nil {
		return unhealthy("%v", err)
	}
	fp.Attributes[attrPrefix+".runtime"] = pstructs.NewStringAttribute(name)
	fp.Attributes[attrPrefix+".runtime_path"] = pstructs.NewStringAttribute(c.Path)
	fp.Attributes[attrPrefix+".runtime_version"] = pstructs.NewStringAttribute(version)

	scan := d.jdks.scan()
	for _, j := range scan.JDKs {
		// With several JDKs of one major the newest-sorted one is used.
		if _, ok := fp.Attributes[fmt.Sprintf("%s.java.%d.home", attrPrefix, j.Major)]; ok {
			continue
		}
		fp.Attributes[fmt.Sprintf("%s.java.%d.version", attrPrefix, j.Major)] = pstructs.NewStringAttribute(j.Version)
		fp.Attributes[fmt.Sprintf("%s.java.%d.home", attrPrefix, j.Major)] = pstructs.NewStringAttribute(j.Home)
	}
	var broken []string
	for _, b := range scan.Broken {
		broken = append(broken, fmt.Sprintf("%s: %v", b.Home, b.Err))
	}
	if len(scan.JDKs) == 0 {
		msg := fmt.Sprintf("no working JDK found; searched %s", strings.Join(scan.Searched, ", "))
		if len(broken) > 0 {
			msg += "; broken: " + strings.Join(broken, "; ")
		}
		return unhealthy("%s. Install a JDK (e.g. apt-get install openjdk-17-jre-headless) or list JDK homes in java_runtimes", msg)
	}
	def, err := scan.defaultJDK(d.config.DefaultJavaVersion)
	if err != nil {
		return unhealthy("%v", err)
	}
	fp.Attributes[attrPrefix+".default_java_version"] = pstructs.NewIntAttribute(int64(def.Major), "")

	if err := d.probeCrunOnce(c); err != nil {
		return unhealthy("%v", err)
	}

	fp.Health = drivers.HealthStateHealthy
	fp.HealthDescription = drivers.DriverHealthy
	if len(broken) > 0 {
		fp.HealthDescription += "; broken JDKs ignored: " + strings.Join(broken, "; ")
	}
	return fp
}

// probeCrunOnce runs the crun probe until it succeeds once for this crun.
func (d *Driver) probeCrunOnce(c *crunCLI) error {
	d.fp.mu.Lock()
	ok := d.fp.crunWorked == c.Path
	d.fp.mu.Unlock()
	if ok {
		return nil
	}
	if err := d.probeCrun(c); err != nil {
		return err
	}
	d.fp.mu.Lock()
	d.fp.crunWorked = c.Path
	d.fp.mu.Unlock()
	return nil
}

// probeCrun runs /bin/true in a throwaway container under the cgroup parent,
// which proves crun, the cgroup setup and the state directories work.
func (d *Driver) probeCrun(c *crunCLI) error {
	id := "crunjar-probe-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	bundle := filepath.Join(d.config.StateDir, "probe", id)
	cgroup := "/" + d.config.CgroupParent + "/" + id
	defer func() {
		if err := cleanupContainer(c, id, bundle, cgroup); err != nil {
			d.logger.Warn("cleaning up crun probe container", "error", err)
		}
	}()
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		return fmt.Errorf("creating crun root %s: %v", c.Root, err)
	}
	if err := os.MkdirAll(filepath.Join(bundle, bundleRootfs), 0o755); err != nil {
		return fmt.Errorf("creating probe bundle: %v", err)
	}
	spec := buildSpec(&containerSpec{
		Args:        []string{"/bin/true"},
		Env:         []string{"PATH=" + defaultPath},
		UID:         65534,
		GID:         65534,
		CgroupsPath: cgroup,
	}, systemDirsPresent())
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, bundleConfig), data, 0o600); err != nil {
		return fmt.Errorf("writing probe bundle: %v", err)
	}

	ctx, cancel := context.WithTimeout(d.ctx, crunTimeout)
	defer cancel()
	logPath := filepath.Join(bundle, bundleCrunLog)
	out, err := c.command(ctx, "--log", logPath, "--log-format", "json", "run", "--bundle", bundle, id).CombinedOutput()
	if err == nil {
		return nil
	}
	msgs, _ := crunLogMessages(logPath)
	return probeFailure(c.Path, d.config.CgroupParent, err, msgs, strings.TrimSpace(string(out)))
}

// probeFailure explains why the probe container failed from the runtime's
// log messages and output, naming the setting to fix where it is known.
func probeFailure(runtime, cgroupParent string, err error, msgs []string, out string) error {
	// crun prints on stderr what it also logs: say each message once.
	if out != "" && !slices.Contains(msgs, out) {
		msgs = append(msgs, out)
	}
	text := strings.Join(msgs, "; ")
	switch {
	case strings.Contains(text, "hybrid mode"):
		return fmt.Errorf("crun cannot start containers: %s. %s", text, hybridCgroupHelp)
	case strings.Contains(text, "cgroup"):
		return fmt.Errorf("cgroup_parent %q is not usable: %s cannot create a container's cgroup under it (%v): %s. "+
			"Set cgroup_parent in the crunjar plugin config to a cgroup name that can be created in every mounted "+
			"cgroup hierarchy with the controllers crunjar needs (memory, cpu, pids)", cgroupParent, runtime, err, text)
	}
	return fmt.Errorf("%s cannot start a test container (%v): %s", runtime, err, text)
}

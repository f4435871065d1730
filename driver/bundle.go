package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// containerID names the container after the allocation and task so
// operators can tell what runs; crun accepts [A-Za-z0-9_.-].
func containerID(allocID, taskName string) string {
	return "crunjar-" + unsafeIDChars.ReplaceAllString(allocID, "_") + "-" + unsafeIDChars.ReplaceAllString(taskName, "_")
}

// writeBundle creates the bundle directory with an empty rootfs and the
// OCI config.
func writeBundle(bundle string, cs *containerSpec) error {
	if err := os.MkdirAll(filepath.Join(bundle, bundleRootfs), 0o755); err != nil {
		return fmt.Errorf("creating bundle: %v", err)
	}
	data, err := json.MarshalIndent(buildSpec(cs, systemDirsPresent()), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, bundleConfig), data, 0o600); err != nil {
		return fmt.Errorf("writing OCI config: %v", err)
	}
	return nil
}

// cleanupContainer removes every trace of a container; it is idempotent.
func cleanupContainer(c *crunCLI, id, bundle, cgroupPath string) error {
	var errs []error
	if err := c.delete(id); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroup(cgroupPath); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(bundle); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

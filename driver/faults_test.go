package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
)

func TestParseFaults(t *testing.T) {
	for value, want := range map[string]string{
		"":                                  "",
		" , ":                               "",
		"drop-env":                          "drop-env",
		" survive-stop, drop-env,drop-env ": "drop-env,survive-stop",
	} {
		got, err := parseFaults(value)
		if err != nil || got.String() != want {
			t.Errorf("%q: got %q, %v; want %q", value, got, err, want)
		}
	}
	all, err := parseFaults(strings.Join(knownFaults, ","))
	if err != nil || len(all) != len(knownFaults) {
		t.Errorf("all known faults: got %v, %v", all, err)
	}

	known := "; known faults: signal-crash, kill-runtime-only, drop-env, no-alloc-mount, wrong-exit-code, " +
		"truncate-stdout, survive-stop, recover-fails, leak-container"
	for value, want := range map[string]string{
		"drop-env,Drop-Env":     `CRUNJAR_FAULTS names an unknown fault "Drop-Env"` + known,
		"nope, drop-env,x,nope": `CRUNJAR_FAULTS names unknown faults "nope", "x"` + known,
	} {
		got, err := parseFaults(value)
		if err == nil || err.Error() != want || got != nil {
			t.Errorf("%q: got %v, %v; want error %q", value, got, err, want)
		}
	}
}

// TestFingerprint_Faults sets CRUNJAR_FAULTS for the whole process, so it
// must not run in parallel (t.Setenv enforces that).
func TestFingerprint_Faults(t *testing.T) {
	var log bytes.Buffer
	fingerprint := func(value string) *drivers.Fingerprint {
		t.Helper()
		log.Reset()
		t.Setenv(faultsEnv, value)
		d := NewDriver(context.Background(), hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Info}))
		// A runtime that is not there ends the fingerprint before it would
		// run a probe container.
		if err := d.applyConfig(PluginConfig{Runtime: "no-such-crun"}); err != nil {
			t.Fatal(err)
		}
		return d.buildFingerprint()
	}

	fp := fingerprint("")
	if _, ok := fp.Attributes["driver.crunjar.faults"]; ok || strings.Contains(log.String(), "fault") {
		t.Errorf("no faults: attributes %v, log %q", fp.Attributes, log.String())
	}

	fp = fingerprint("wrong-exit-code,drop-env")
	if got := fp.Attributes["driver.crunjar.faults"]; got == nil || got.GoString() != "drop-env,wrong-exit-code" {
		t.Errorf("faults attribute: got %v", got)
	}
	if !strings.Contains(log.String(), "[WARN]") || !strings.Contains(log.String(), "fault injection is on") ||
		!strings.Contains(log.String(), `faults="drop-env,wrong-exit-code"`) {
		t.Errorf("no warning about the faults in %q", log.String())
	}

	fp = fingerprint("drop-env,signal-crahs")
	if fp.Health != drivers.HealthStateUnhealthy ||
		!strings.HasPrefix(fp.HealthDescription, `CRUNJAR_FAULTS names an unknown fault "signal-crahs"; known faults: signal-crash, `) {
		t.Errorf("unknown fault: %+v", fp)
	}
	if _, ok := fp.Attributes["driver.crunjar.faults"]; ok {
		t.Errorf("refused faults in the attributes: %v", fp.Attributes)
	}
	if !strings.Contains(log.String(), "[ERROR]") || !strings.Contains(log.String(), "signal-crahs") {
		t.Errorf("unknown fault not logged as an error: %q", log.String())
	}
}

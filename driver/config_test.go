package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
)

func TestPluginConfig_Defaults(t *testing.T) {
	var pc PluginConfig
	hclutils.NewConfigParser(configSpec).ParseHCL(t, `config {}`, &pc)
	if err := pc.normalize(); err != nil {
		t.Fatal(err)
	}
	want := PluginConfig{
		Runtime:      "crun",
		StateDir:     "/run/crunjar",
		CrunRoot:     "/run/crunjar/crun",
		AllowCaps:    defaultAllowCaps,
		CgroupParent: "crunjar",
		DefaultUser:  "nobody",
	}
	if !reflect.DeepEqual(pc, want) {
		t.Fatalf("got %+v\nwant %+v", pc, want)
	}
	if len(defaultAllowCaps) != 13 {
		t.Fatalf("default caps: %v", defaultAllowCaps)
	}
	for _, c := range defaultAllowCaps {
		if c == "CAP_NET_RAW" {
			t.Fatal("NET_RAW must not be a default capability")
		}
	}

	// Configs that bypass HCL get the same defaults.
	var empty PluginConfig
	if err := empty.normalize(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(empty, want) {
		t.Fatalf("got %+v\nwant %+v", empty, want)
	}
}

func TestPluginConfig_Custom(t *testing.T) {
	var pc PluginConfig
	hclutils.NewConfigParser(configSpec).ParseHCL(t, `config {
  runtime = "/usr/bin/crun"
  java_runtimes = ["/opt/jdk17", "/opt/jdk21"]
  default_java_version = 21
  state_dir = "/tmp/cj/"
  allow_caps = ["chown", "CAP_NET_ADMIN"]
  cgroup_parent = "/agents/one/"
  default_user = "app"
}`, &pc)
	if err := pc.normalize(); err != nil {
		t.Fatal(err)
	}
	want := PluginConfig{
		Runtime:            "/usr/bin/crun",
		JavaRuntimes:       []string{"/opt/jdk17", "/opt/jdk21"},
		DefaultJavaVersion: 21,
		StateDir:           "/tmp/cj",
		CrunRoot:           "/tmp/cj/crun",
		AllowCaps:          []string{"CAP_CHOWN", "CAP_NET_ADMIN"},
		CgroupParent:       "agents/one",
		DefaultUser:        "app",
	}
	if !reflect.DeepEqual(pc, want) {
		t.Fatalf("got %+v\nwant %+v", pc, want)
	}
	if pc.bundlesDir() != "/tmp/cj/bundles" {
		t.Fatal(pc.bundlesDir())
	}
}

func TestPluginConfig_Invalid(t *testing.T) {
	for _, c := range []struct {
		pc   PluginConfig
		want string
	}{
		{PluginConfig{StateDir: "relative"}, "state_dir must be an absolute path"},
		{PluginConfig{CrunRoot: "crun"}, "crun_root must be an absolute path"},
		{PluginConfig{CgroupParent: "/"}, "cgroup_parent"},
		{PluginConfig{DefaultJavaVersion: -1}, "default_java_version"},
		{PluginConfig{JavaRuntimes: []string{"jdk"}}, "java_runtimes"},
	} {
		if err := c.pc.normalize(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: want error with %q, got %v", c.pc, c.want, err)
		}
	}
}

func TestTaskConfig_Decode(t *testing.T) {
	var tc TaskConfig
	hclutils.NewConfigParser(taskConfigSpec).ParseHCL(t, `config {
  jar_path = "local/app.jar"
  class = "com.example.Main"
  class_path = "local/lib/*"
  jvm_options = ["-Xmx64m", "-Dx=y"]
  args = ["one", "two"]
  java_version = 17
  cap_add = ["net_bind_service"]
  cap_drop = ["all"]
  cpu_hard_limit = true
  cpu_cfs_period = 50000
  writable_rootfs = true
  seccomp = "default"
  allow_privilege_escalation = true
}`, &tc)
	want := TaskConfig{
		JarPath:                  "local/app.jar",
		Class:                    "com.example.Main",
		ClassPath:                "local/lib/*",
		JVMOptions:               []string{"-Xmx64m", "-Dx=y"},
		Args:                     []string{"one", "two"},
		JavaVersion:              17,
		CapAdd:                   []string{"net_bind_service"},
		CapDrop:                  []string{"all"},
		CPUHardLimit:             true,
		CPUCFSPeriod:             50000,
		WritableRootfs:           true,
		Seccomp:                  "default",
		AllowPrivilegeEscalation: true,
	}
	if !reflect.DeepEqual(tc, want) {
		t.Fatalf("got %+v\nwant %+v", tc, want)
	}
	if err := tc.validate(); err != nil {
		t.Fatal(err)
	}
}

// decodeErrors decodes a task config block the way Nomad's client does and
// returns the diagnostics.
func decodeErrors(t *testing.T, hcl string) string {
	t.Helper()
	spec, diags := hclspecutils.Convert(taskConfigSpec)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags, errs := hclutils.ParseHclInterface(hclutils.HclConfigToInterface(t, hcl), spec, nil)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	if diags.HasErrors() {
		msgs = append(msgs, diags.Error())
	}
	return strings.Join(msgs, "; ")
}

func TestTaskConfig_DecodeErrors(t *testing.T) {
	if got := decodeErrors(t, `config { jar_pth = "x.jar" }`); !strings.Contains(got, `No argument or block type is named "jar_pth"`) {
		t.Errorf("unknown field: %q", got)
	}
	if got := decodeErrors(t, `config { jvm_options = "-Xmx1g" }`); !strings.Contains(got, "list of string required") {
		t.Errorf("wrong type: %q", got)
	}
	if got := decodeErrors(t, `config { java_version = "seventeen" }`); !strings.Contains(got, "a number is required") {
		t.Errorf("wrong type: %q", got)
	}
}

func TestTaskConfig_Validate(t *testing.T) {
	for _, c := range []struct {
		tc   TaskConfig
		want string
	}{
		{TaskConfig{JavaVersion: 17, JavaHome: "/usr/lib/jvm/x"}, "either java_version or java_home"},
		{TaskConfig{JavaHome: "jdk"}, "java_home must be an absolute path"},
		{TaskConfig{JavaVersion: -3}, "java_version must be"},
		{TaskConfig{CPUHardLimit: true, CPUCFSPeriod: 500}, "cpu_cfs_period must be between 1000 and 1000000"},
		{TaskConfig{CPUHardLimit: true, CPUCFSPeriod: 2000000}, "cpu_cfs_period must be between"},
		{TaskConfig{CPUCFSPeriod: 50000}, "only applies with cpu_hard_limit = true"},
	} {
		if err := c.tc.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: want %q, got %v", c.tc, c.want, err)
		}
	}
}

func TestTaskCaps(t *testing.T) {
	allow := append(append([]string{}, defaultAllowCaps...), "CAP_NET_ADMIN")

	caps, err := taskCaps(allow, nil, nil)
	if err != nil || !reflect.DeepEqual(caps, defaultAllowCaps) {
		t.Fatalf("defaults: %v %v", caps, err)
	}
	caps, err = taskCaps(allow, []string{"net_admin"}, []string{"CHOWN", "cap_kill"})
	if err != nil {
		t.Fatal(err)
	}
	if !contains(caps, "CAP_NET_ADMIN") || contains(caps, "CAP_CHOWN") || contains(caps, "CAP_KILL") || len(caps) != 12 {
		t.Fatalf("add/drop: %v", caps)
	}
	caps, err = taskCaps(allow, []string{"NET_BIND_SERVICE"}, []string{"all"})
	if err != nil || !reflect.DeepEqual(caps, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Fatalf("drop all: %v %v", caps, err)
	}
	// allow_caps narrows the defaults.
	caps, err = taskCaps([]string{"CAP_CHOWN"}, nil, nil)
	if err != nil || !reflect.DeepEqual(caps, []string{"CAP_CHOWN"}) {
		t.Fatalf("narrow: %v %v", caps, err)
	}
	_, err = taskCaps(defaultAllowCaps, []string{"SYS_ADMIN", "net_raw"}, nil)
	if err == nil || !strings.Contains(err.Error(), "cap_add CAP_SYS_ADMIN, CAP_NET_RAW not allowed") {
		t.Fatalf("want not-allowed error, got %v", err)
	}
	// Unknown names are crun's to reject.
	caps, err = taskCaps(append(allow, "CAP_BOGUS"), []string{"bogus"}, nil)
	if err != nil || !contains(caps, "CAP_BOGUS") {
		t.Fatalf("bogus: %v %v", caps, err)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

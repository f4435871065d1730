package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/nomad/plugins/shared/hclspec"
)

const (
	defaultStateDir     = "/run/crunjar"
	defaultCgroupParent = "crunjar"
	defaultUser         = "nobody"
	defaultRuntime      = "crun"
)

// defaultAllowCaps is Docker's default capability set without NET_RAW, the
// same baseline Nomad's exec drivers use.
var defaultAllowCaps = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
	"CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
}

var (
	// configSpec is the agent's plugin "crunjar" { config { ... } } block.
	configSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		// runtime is "crun", "runc" or a path.
		"runtime":              hclspec.NewAttr("runtime", "string", false),
		"java_runtimes":        hclspec.NewAttr("java_runtimes", "list(string)", false),
		"default_java_version": hclspec.NewAttr("default_java_version", "number", false),
		"state_dir": hclspec.NewDefault(
			hclspec.NewAttr("state_dir", "string", false),
			hclspec.NewLiteral(`"/run/crunjar"`),
		),
		"crun_root": hclspec.NewAttr("crun_root", "string", false),
		"allow_caps": hclspec.NewDefault(
			hclspec.NewAttr("allow_caps", "list(string)", false),
			hclspec.NewLiteral(`["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]`),
		),
		"cgroup_parent": hclspec.NewDefault(
			hclspec.NewAttr("cgroup_parent", "string", false),
			hclspec.NewLiteral(`"crunjar"`),
		),
		"default_user": hclspec.NewDefault(
			hclspec.NewAttr("default_user", "string", false),
			hclspec.NewLiteral(`"nobody"`),
		),
	})

	// taskConfigSpec is the job's task config block. Neither jar_path nor
	// class is required: with neither, the single JAR in local/ is used.
	taskConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"jar_path":                   hclspec.NewAttr("jar_path", "string", false),
		"class":                      hclspec.NewAttr("class", "string", false),
		"class_path":                 hclspec.NewAttr("class_path", "string", false),
		"jvm_options":                hclspec.NewAttr("jvm_options", "list(string)", false),
		"args":                       hclspec.NewAttr("args", "list(string)", false),
		"java_version":               hclspec.NewAttr("java_version", "number", false),
		"java_home":                  hclspec.NewAttr("java_home", "string", false),
		"cap_add":                    hclspec.NewAttr("cap_add", "list(string)", false),
		"cap_drop":                   hclspec.NewAttr("cap_drop", "list(string)", false),
		"cpu_hard_limit":             hclspec.NewAttr("cpu_hard_limit", "bool", false),
		"writable_rootfs":            hclspec.NewAttr("writable_rootfs", "bool", false),
		"seccomp":                    hclspec.NewAttr("seccomp", "string", false),
		"allow_privilege_escalation": hclspec.NewAttr("allow_privilege_escalation", "bool", false),
		"cpu_cfs_period":             hclspec.NewAttr("cpu_cfs_period", "number", false),
	})
)

// PluginConfig is the decoded agent plugin configuration.
type PluginConfig struct {
	Runtime            string   `codec:"runtime"`
	JavaRuntimes       []string `codec:"java_runtimes"`
	DefaultJavaVersion int      `codec:"default_java_version"`
	StateDir           string   `codec:"state_dir"`
	CrunRoot           string   `codec:"crun_root"`
	AllowCaps          []string `codec:"allow_caps"`
	CgroupParent       string   `codec:"cgroup_parent"`
	DefaultUser        string   `codec:"default_user"`
}

// TaskConfig is the decoded task driver configuration.
type TaskConfig struct {
	JarPath     string   `codec:"jar_path"`
	Class       string   `codec:"class"`
	ClassPath   string   `codec:"class_path"`
	JVMOptions  []string `codec:"jvm_options"`
	Args        []string `codec:"args"`
	JavaVersion int      `codec:"java_version"`
	JavaHome    string   `codec:"java_home"`
	CapAdd      []string `codec:"cap_add"`
	CapDrop     []string `codec:"cap_drop"`
	// CPUHardLimit caps the task at its cpu (MHz) with a CFS quota instead
	// of only weighting it, as cpu_hard_limit does in Nomad's docker driver.
	CPUHardLimit bool  `codec:"cpu_hard_limit"`
	CPUCFSPeriod int64 `codec:"cpu_cfs_period"`
	// Container settings looser or stricter than the default: a writable
	// root, the "default" seccomp profile, no no_new_privileges.
	WritableRootfs           bool   `codec:"writable_rootfs"`
	Seccomp                  string `codec:"seccomp"`
	AllowPrivilegeEscalation bool   `codec:"allow_privilege_escalation"`
}

// normalize fills defaults and validates the plugin config. Defaults are
// applied here as well as in the hclspec because in-process callers (tests,
// the harness) hand over configs that never went through HCL.
func (c *PluginConfig) normalize() error {
	if c.Runtime == "" {
		c.Runtime = defaultRuntime
	}
	if c.StateDir == "" {
		c.StateDir = defaultStateDir
	}
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("state_dir must be an absolute path, got %q", c.StateDir)
	}
	c.StateDir = filepath.Clean(c.StateDir)
	if c.CrunRoot == "" {
		c.CrunRoot = filepath.Join(c.StateDir, "crun")
	}
	if !filepath.IsAbs(c.CrunRoot) {
		return fmt.Errorf("crun_root must be an absolute path, got %q", c.CrunRoot)
	}
	if c.AllowCaps == nil {
		c.AllowCaps = defaultAllowCaps
	}
	c.AllowCaps = normalizeCaps(c.AllowCaps)
	if c.CgroupParent == "" {
		c.CgroupParent = defaultCgroupParent
	}
	c.CgroupParent = strings.Trim(filepath.Clean("/"+c.CgroupParent), "/")
	if c.CgroupParent == "" {
		return fmt.Errorf("cgroup_parent must name a cgroup below the root")
	}
	if c.DefaultUser == "" {
		c.DefaultUser = defaultUser
	}
	if c.DefaultJavaVersion < 0 {
		return fmt.Errorf("default_java_version must be a Java major version such as 17, got %d", c.DefaultJavaVersion)
	}
	for _, home := range c.JavaRuntimes {
		if !filepath.IsAbs(home) {
			return fmt.Errorf("java_runtimes entries must be absolute paths, got %q", home)
		}
	}
	return nil
}

// bundlesDir holds one OCI bundle per container.
func (c *PluginConfig) bundlesDir() string {
	return filepath.Join(c.StateDir, "bundles")
}

func (tc *TaskConfig) validate() error {
	if tc.JavaVersion != 0 && tc.JavaHome != "" {
		return fmt.Errorf("set either java_version or java_home, not both")
	}
	if tc.JavaVersion < 0 {
		return fmt.Errorf("java_version must be a Java major version such as 17, got %d", tc.JavaVersion)
	}
	if tc.CPUCFSPeriod < 0 || tc.CPUCFSPeriod > maxCFSPeriod || (tc.CPUCFSPeriod > 0 && tc.CPUCFSPeriod < minCFSPeriod) {
		return fmt.Errorf("cpu_cfs_period must be between %d and %d microseconds, got %d", minCFSPeriod, maxCFSPeriod, tc.CPUCFSPeriod)
	}
	if tc.CPUCFSPeriod != 0 && !tc.CPUHardLimit {
		return fmt.Errorf("cpu_cfs_period only applies with cpu_hard_limit = true")
	}
	if _, err := seccompProfile(tc.Seccomp); err != nil {
		return err
	}
	if tc.JavaHome != "" && !filepath.IsAbs(tc.JavaHome) {
		return fmt.Errorf("java_home must be an absolute path, got %q", tc.JavaHome)
	}
	return nil
}

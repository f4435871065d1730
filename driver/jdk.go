package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultJDKSearchDirs are scanned for JDK homes when java_runtimes is unset.
var defaultJDKSearchDirs = []string{"/usr/lib/jvm", "/opt/java"}

const jdkProbeTimeout = 20 * time.Second

// jdk is a JDK home that ran `java -version` successfully.
type jdk struct {
	Home    string // symlink-free path, mounted at the same path in containers
	Major   int
	Version string
}

// brokenJDK is a JDK home whose java binary did not run.
type brokenJDK struct {
	Home string
	Err  error
}

// jdkScan is the result of one discovery pass.
type jdkScan struct {
	JDKs     []jdk // sorted by major, newest first
	Broken   []brokenJDK
	Searched []string // what was looked at, for health messages
}

type probeKey struct {
	home  string
	mtime time.Time
	size  int64
}

// jdkCatalog discovers JDK homes and remembers which ones work, so the
// periodic fingerprint does not start a JVM for every JDK every time.
type jdkCatalog struct {
	configured []string // java_runtimes; when set nothing is searched
	searchDirs []string
	javaHome   string // $JAVA_HOME of the plugin process

	mu    sync.Mutex
	known map[probeKey]jdk
}

func newJDKCatalog(configured []string) *jdkCatalog {
	return &jdkCatalog{
		configured: configured,
		searchDirs: defaultJDKSearchDirs,
		javaHome:   os.Getenv("JAVA_HOME"),
		known:      map[probeKey]jdk{},
	}
}

// candidates lists possible JDK homes and the places that were searched.
// installHint says what to do about a Java version the client lacks.
const installHint = "Ask for one of those (java_version, java_home), or install that JDK and list its home in the crunjar plugin's java_runtimes"

func (c *jdkCatalog) candidates() (homes, searched []string) {
	if len(c.configured) > 0 {
		return c.configured, c.configured
	}
	for _, dir := range c.searchDirs {
		searched = append(searched, dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			homes = append(homes, filepath.Join(dir, e.Name()))
		}
	}
	if c.javaHome != "" {
		searched = append(searched, "$JAVA_HOME="+c.javaHome)
		homes = append(homes, c.javaHome)
	}
	return homes, searched
}

// scan discovers JDK homes, deduplicated by their symlink-free path, and
// probes each one that has an executable bin/java.
func (c *jdkCatalog) scan() jdkScan {
	homes, searched := c.candidates()
	res := jdkScan{Searched: searched}
	seen := map[string]bool{}
	for _, h := range homes {
		real, err := filepath.EvalSymlinks(h)
		if err != nil {
			if len(c.configured) > 0 {
				res.Broken = append(res.Broken, brokenJDK{Home: h, Err: fmt.Errorf("not found")})
			}
			continue
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		if !isJDKHome(real) {
			if len(c.configured) > 0 {
				res.Broken = append(res.Broken, brokenJDK{Home: h, Err: fmt.Errorf("no executable bin/java")})
			}
			continue
		}
		j, err := c.probe(real)
		if err != nil {
			res.Broken = append(res.Broken, brokenJDK{Home: real, Err: err})
			continue
		}
		res.JDKs = append(res.JDKs, j)
	}
	sort.SliceStable(res.JDKs, func(a, b int) bool {
		if res.JDKs[a].Major != res.JDKs[b].Major {
			return res.JDKs[a].Major > res.JDKs[b].Major
		}
		return res.JDKs[a].Home < res.JDKs[b].Home
	})
	return res
}

// probe runs `java -version` once per home and binary; failures are not
// remembered so that a fixed JDK is picked up by the next fingerprint.
func (c *jdkCatalog) probe(home string) (jdk, error) {
	st, err := os.Stat(filepath.Join(home, "bin", "java"))
	if err != nil {
		return jdk{}, err
	}
	key := probeKey{home: home, mtime: st.ModTime(), size: st.Size()}
	c.mu.Lock()
	j, ok := c.known[key]
	c.mu.Unlock()
	if ok {
		return j, nil
	}
	j, err = probeJDK(home)
	if err != nil {
		return jdk{}, err
	}
	c.mu.Lock()
	c.known[key] = j
	c.mu.Unlock()
	return j, nil
}

// isJDKHome reports whether dir holds an executable bin/java.
func isJDKHome(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "bin", "java"))
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

var versionRe = regexp.MustCompile(`version "([^"]+)"`)

// probeJDK runs `bin/java -version` and parses the version it prints.
func probeJDK(home string) (jdk, error) {
	ctx, cancel := context.WithTimeout(context.Background(), jdkProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "java"), "-version")
	cmd.Env = withoutEnv(os.Environ(), "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if ctx.Err() != nil {
		return jdk{}, fmt.Errorf("`java -version` did not finish within %s", jdkProbeTimeout)
	}
	if err != nil {
		return jdk{}, fmt.Errorf("`java -version` failed (%v): %s", err, text)
	}
	m := versionRe.FindStringSubmatch(text)
	if m == nil {
		return jdk{}, fmt.Errorf("`java -version` printed no version: %s", text)
	}
	major, err := javaMajor(m[1])
	if err != nil {
		return jdk{}, err
	}
	return jdk{Home: home, Major: major, Version: m[1]}, nil
}

// javaMajor extracts the feature release from a Java version string:
// "1.8.0_392" is 8, "17.0.15" is 17, "21-ea" is 21.
func javaMajor(v string) (int, error) {
	v = strings.TrimPrefix(v, "1.")
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("cannot parse Java version %q", v)
	}
	return n, nil
}

func withoutEnv(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if name == n {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// describe lists working JDKs as "17 (/usr/lib/jvm/...), 25 (...)".
func (s jdkScan) describe() string {
	if len(s.JDKs) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(s.JDKs))
	for i := len(s.JDKs) - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%d (%s)", s.JDKs[i].Major, s.JDKs[i].Home))
	}
	return strings.Join(parts, ", ")
}

// byMajor returns the JDK for a major version.
func (s jdkScan) byMajor(major int) (jdk, bool) {
	for _, j := range s.JDKs {
		if j.Major == major {
			return j, true
		}
	}
	return jdk{}, false
}

// defaultJDK is default_java_version when set, else the newest JDK.
func (s jdkScan) defaultJDK(configured int) (jdk, error) {
	if len(s.JDKs) == 0 {
		return jdk{}, fmt.Errorf("no working JDK found (searched %s)", strings.Join(s.Searched, ", "))
	}
	if configured == 0 {
		return s.JDKs[0], nil
	}
	if j, ok := s.byMajor(configured); ok {
		return j, nil
	}
	return jdk{}, fmt.Errorf("default_java_version %d is not installed; available: %s. %s", configured, s.describe(), installHint)
}

// selectJDK picks the JDK for a task: java_home, java_version or the default.
func (c *jdkCatalog) selectJDK(tc *TaskConfig, defaultVersion int) (jdk, error) {
	if tc.JavaHome != "" {
		real, err := filepath.EvalSymlinks(tc.JavaHome)
		if err != nil || !isJDKHome(real) {
			return jdk{}, fmt.Errorf("java_home %s is not a JDK home (no executable bin/java)", tc.JavaHome)
		}
		j, err := c.probe(real)
		if err != nil {
			return jdk{}, fmt.Errorf("java_home %s: %v", tc.JavaHome, err)
		}
		return j, nil
	}
	s := c.scan()
	if tc.JavaVersion != 0 {
		if j, ok := s.byMajor(tc.JavaVersion); ok {
			return j, nil
		}
		return jdk{}, fmt.Errorf("Java %d is not installed; available: %s. %s", tc.JavaVersion, s.describe(), installHint)
	}
	return s.defaultJDK(defaultVersion)
}

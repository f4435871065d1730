package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeJDK creates a JDK home whose bin/java is a script printing the given
// `java -version` output (to stderr, as real JVMs do) and exiting with code.
func fakeJDK(t *testing.T, dir, version string, code int) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\necho 'openjdk version \"%s\" 2024-01-16' >&2\necho 'OpenJDK Runtime Environment' >&2\nexit %d\n", version, code)
	if code != 0 {
		script = fmt.Sprintf("#!/bin/sh\necho 'Error: could not find libjava.so' >&2\nexit %d\n", code)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "java"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestJavaMajor(t *testing.T) {
	for v, want := range map[string]int{"1.8.0_392": 8, "17.0.15": 17, "21": 21, "25-ea": 25, "11.0.2+9": 11} {
		if got, err := javaMajor(v); err != nil || got != want {
			t.Errorf("%s: got %d %v", v, got, err)
		}
	}
	if _, err := javaMajor("abc"); err == nil {
		t.Error("want error")
	}
}

func TestJDKScan(t *testing.T) {
	root := t.TempDir()
	jvm := filepath.Join(root, "jvm")
	fakeJDK(t, filepath.Join(jvm, "jdk-17"), "17.0.9", 0)
	fakeJDK(t, filepath.Join(jvm, "jdk-21"), "21.0.2", 0)
	fakeJDK(t, filepath.Join(jvm, "jdk-8"), "1.8.0_392", 0)
	fakeJDK(t, filepath.Join(jvm, "broken"), "", 1)
	// An alias of jdk-17 and a directory without bin/java are ignored.
	if err := os.Symlink("jdk-17", filepath.Join(jvm, "java-1.17.0")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(jvm, "openjdk-17"), 0o755); err != nil {
		t.Fatal(err)
	}
	javaHome := fakeJDK(t, filepath.Join(root, "custom"), "11.0.21", 0)

	c := newJDKCatalog(nil)
	c.searchDirs = []string{jvm, filepath.Join(root, "opt-java")}
	c.javaHome = javaHome
	s := c.scan()

	var got []string
	for _, j := range s.JDKs {
		got = append(got, fmt.Sprintf("%d=%s@%s", j.Major, j.Version, filepath.Base(j.Home)))
	}
	want := "21=21.0.2@jdk-21 17=17.0.9@jdk-17 11=11.0.21@custom 8=1.8.0_392@jdk-8"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if len(s.Broken) != 1 || !strings.Contains(s.Broken[0].Err.Error(), "could not find libjava.so") {
		t.Fatalf("broken: %+v", s.Broken)
	}
	if len(s.Searched) != 3 || !strings.HasPrefix(s.Searched[2], "$JAVA_HOME=") {
		t.Fatalf("searched: %v", s.Searched)
	}

	// Selection.
	j, err := c.selectJDK(&TaskConfig{}, 0)
	if err != nil || j.Major != 21 {
		t.Fatalf("default: %+v %v", j, err)
	}
	j, err = c.selectJDK(&TaskConfig{}, 17)
	if err != nil || j.Major != 17 {
		t.Fatalf("configured default: %+v %v", j, err)
	}
	j, err = c.selectJDK(&TaskConfig{JavaVersion: 8}, 0)
	if err != nil || j.Major != 8 {
		t.Fatalf("java_version 8: %+v %v", j, err)
	}
	_, err = c.selectJDK(&TaskConfig{JavaVersion: 22}, 0)
	wantErr := fmt.Sprintf("Java 22 is not installed; available: 8 (%s/jdk-8), 11 (%s), 17 (%s/jdk-17), 21 (%s/jdk-21). %s", jvm, javaHome, jvm, jvm, installHint)
	if err == nil || err.Error() != wantErr {
		t.Fatalf("got %v\nwant %s", err, wantErr)
	}
	_, err = c.selectJDK(&TaskConfig{}, 22)
	if err == nil || !strings.Contains(err.Error(), "default_java_version 22 is not installed") {
		t.Fatalf("bad default: %v", err)
	}
	j, err = c.selectJDK(&TaskConfig{JavaHome: filepath.Join(jvm, "java-1.17.0")}, 0)
	if err != nil || j.Home != filepath.Join(jvm, "jdk-17") {
		t.Fatalf("java_home: %+v %v", j, err)
	}
	if _, err = c.selectJDK(&TaskConfig{JavaHome: filepath.Join(jvm, "openjdk-17")}, 0); err == nil || !strings.Contains(err.Error(), "is not a JDK home") {
		t.Fatalf("java_home without java: %v", err)
	}
	if _, err = c.selectJDK(&TaskConfig{JavaHome: filepath.Join(jvm, "broken")}, 0); err == nil || !strings.Contains(err.Error(), "libjava.so") {
		t.Fatalf("broken java_home: %v", err)
	}
}

func TestJDKScan_Configured(t *testing.T) {
	root := t.TempDir()
	good := fakeJDK(t, filepath.Join(root, "good"), "17.0.1", 0)
	c := newJDKCatalog([]string{good, filepath.Join(root, "missing"), root})
	s := c.scan()
	if len(s.JDKs) != 1 || s.JDKs[0].Major != 17 {
		t.Fatalf("jdks: %+v", s.JDKs)
	}
	// Configured homes that are not JDKs are reported, not skipped.
	if len(s.Broken) != 2 {
		t.Fatalf("broken: %+v", s.Broken)
	}
}

func TestJDKScan_NoneFound(t *testing.T) {
	c := newJDKCatalog(nil)
	c.searchDirs = []string{filepath.Join(t.TempDir(), "nothing")}
	c.javaHome = ""
	s := c.scan()
	_, err := s.defaultJDK(0)
	if err == nil || !strings.Contains(err.Error(), "no working JDK found (searched "+c.searchDirs[0]+")") {
		t.Fatalf("got %v", err)
	}
}

package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// zip local file header and end-of-central-directory (empty archive) magic.
var (
	zipMagic      = []byte("PK\x03\x04")
	emptyZipMagic = []byte("PK\x05\x06")
)

// validateJar checks that path (shown to users as name) is a readable,
// non-empty JAR. When needMain is set the manifest must name a Main-Class,
// because the JAR is run with `java -jar`.
func validateJar(path, name string, needMain bool) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("jar_path %s: file not found", name)
	}
	if err != nil {
		return fmt.Errorf("jar_path %s: %v", name, err)
	}
	if st.IsDir() {
		return fmt.Errorf("jar_path %s is a directory, not a JAR file", name)
	}
	if st.Size() == 0 {
		return fmt.Errorf("%s is empty (0 bytes), not a JAR file", name)
	}

	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("jar_path %s: %v", name, err)
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil || (!bytes.Equal(head, zipMagic) && !bytes.Equal(head, emptyZipMagic)) {
		return fmt.Errorf("%s is not a JAR (zip) file", name)
	}

	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s is a corrupted JAR: %v", name, err)
	}
	if len(zr.File) == 0 {
		return fmt.Errorf("%s is an empty JAR (the zip has no entries)", name)
	}
	if !needMain {
		return nil
	}

	var manifest *zip.File
	for _, zf := range zr.File {
		// The JDK looks the manifest up case-insensitively too.
		if strings.EqualFold(zf.Name, "META-INF/MANIFEST.MF") {
			manifest = zf
			break
		}
	}
	if manifest == nil {
		return fmt.Errorf("%s has no META-INF/MANIFEST.MF, so it has no Main-Class; set class in the task config", name)
	}
	rc, err := manifest.Open()
	if err != nil {
		return fmt.Errorf("%s is a corrupted JAR: %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("%s is a corrupted JAR: reading META-INF/MANIFEST.MF: %v", name, err)
	}
	if manifestMainClass(data) == "" {
		return fmt.Errorf("%s has no Main-Class in META-INF/MANIFEST.MF; set class in the task config", name)
	}
	return nil
}

// manifestMainClass returns the Main-Class of a manifest's main section.
// Lines starting with a space continue the previous line; the main section
// ends at the first blank line.
func manifestMainClass(data []byte) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if strings.HasPrefix(line, " ") && len(lines) > 0 {
			lines[len(lines)-1] += line[1:]
			continue
		}
		lines = append(lines, line)
	}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Main-Class") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// findLocalJar picks the only *.jar in local/ for tasks naming neither
// jar_path nor class.
func findLocalJar(localDir string) (string, error) {
	entries, err := os.ReadDir(localDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading local/: %v", err)
	}
	var jars, others []string
	for _, e := range entries {
		switch {
		case !e.IsDir() && strings.HasSuffix(e.Name(), ".jar"):
			jars = append(jars, e.Name())
		case e.IsDir():
			others = append(others, e.Name()+"/")
		default:
			others = append(others, e.Name())
		}
	}
	sort.Strings(jars)
	switch len(jars) {
	case 1:
		return "local/" + jars[0], nil
	case 0:
		// Say what is there instead: usually an artifact that is not a JAR.
		return "", fmt.Errorf("no jar_path or class given and local/ holds 0 JARs (%s)", describeEntries(others))
	default:
		return "", fmt.Errorf("no jar_path or class given and local/ holds %d JARs: %s; set jar_path", len(jars), strings.Join(jars, ", "))
	}
}

// describeEntries lists directory entries for an error message, at most
// maxListed of them.
func describeEntries(names []string) string {
	const maxListed = 10
	if len(names) == 0 {
		return "it is empty"
	}
	sort.Strings(names)
	if len(names) > maxListed {
		return fmt.Sprintf("it holds %s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
	}
	return "it holds " + strings.Join(names, ", ")
}

// javaArgs builds the container's command line, like Nomad's java driver:
// java <jvm_options> [-cp class_path[:jar]] (class | -jar jar) <args>.
// jar is the JAR's path inside the container ("" when running a class).
func javaArgs(home string, tc *TaskConfig, jar string) []string {
	args := []string{filepath.Join(home, "bin", "java")}
	args = append(args, tc.JVMOptions...)
	if tc.Class != "" {
		var cp []string
		if tc.ClassPath != "" {
			cp = append(cp, tc.ClassPath)
		}
		if jar != "" {
			cp = append(cp, jar)
		}
		if len(cp) > 0 {
			args = append(args, "-cp", strings.Join(cp, ":"))
		}
		args = append(args, tc.Class)
	} else {
		if tc.ClassPath != "" {
			args = append(args, "-cp", tc.ClassPath)
		}
		args = append(args, "-jar", jar)
	}
	return append(args, tc.Args...)
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestValidateJar(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }

	writeZip(t, path("good.jar"), map[string][]byte{"META-INF/MANIFEST.MF": manifest("app.Main"), "app/Main.class": []byte("x")})
	writeZip(t, path("lib.jar"), map[string][]byte{"META-INF/MANIFEST.MF": manifest(""), "app/Lib.class": []byte("x")})
	writeZip(t, path("nomanifest.jar"), map[string][]byte{"app/Main.class": []byte("x")})
	writeZip(t, path("empty-zip.jar"), map[string][]byte{})
	if err := os.WriteFile(path("zero.jar"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("text.jar"), []byte("this is not a zip file"), 0o644); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path("good.jar"))
	if err != nil {
		t.Fatal(err)
	}
	// Zip magic, but the central directory is cut off.
	if err := os.WriteFile(path("truncated.jar"), good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path("dir.jar"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		file     string
		needMain bool
		want     string // "" means valid
	}{
		{"good.jar", true, ""},
		{"lib.jar", false, ""},
		{"nomanifest.jar", false, ""},
		{"missing.jar", false, "jar_path local/missing.jar: file not found"},
		{"dir.jar", false, "is a directory"},
		{"zero.jar", false, "local/zero.jar is empty (0 bytes), not a JAR file"},
		{"text.jar", false, "local/text.jar is not a JAR (zip) file"},
		{"truncated.jar", false, "local/truncated.jar is a corrupted JAR"},
		{"empty-zip.jar", false, "local/empty-zip.jar is an empty JAR (the zip has no entries)"},
		{"lib.jar", true, "local/lib.jar has no Main-Class in META-INF/MANIFEST.MF; set class"},
		{"nomanifest.jar", true, "local/nomanifest.jar has no META-INF/MANIFEST.MF"},
	} {
		err := validateJar(path(c.file), "local/"+c.file, c.needMain)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.file, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: want %q, got %v", c.file, c.want, err)
		}
	}
}

func TestManifestMainClass(t *testing.T) {
	m := "Manifest-Version: 1.0\r\nMain-Class: com.example.very.long.packag\r\n e.Main\r\n\r\nName: x\r\nMain-Class: Other\r\n"
	if got := manifestMainClass([]byte(m)); got != "com.example.very.long.package.Main" {
		t.Fatalf("got %q", got)
	}
	if got := manifestMainClass([]byte("Manifest-Version: 1.0\n\nMain-Class: InOtherSection\n")); got != "" {
		t.Fatalf("main class outside the main section: %q", got)
	}
}

func TestFindLocalJar(t *testing.T) {
	dir := t.TempDir()
	if _, err := findLocalJar(dir); err == nil || err.Error() != "no jar_path or class given and local/ holds 0 JARs (it is empty)" {
		t.Fatalf("empty: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "script.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := findLocalJar(dir)
	if err == nil || err.Error() != "no jar_path or class given and local/ holds 0 JARs (it holds conf/, script.py)" {
		t.Fatalf("no JAR: %v", err)
	}
	for i := 0; i < 11; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := findLocalJar(dir); err == nil || !strings.HasSuffix(err.Error(), "f08.txt and 3 more)") {
		t.Fatalf("many files: %v", err)
	}
	dir = t.TempDir()
	for _, n := range []string{"b.jar", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := findLocalJar(dir); err != nil || got != "local/b.jar" {
		t.Fatalf("one: %q %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.jar"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = findLocalJar(dir)
	if err == nil || err.Error() != "no jar_path or class given and local/ holds 2 JARs: a.jar, b.jar; set jar_path" {
		t.Fatalf("two: %v", err)
	}
}

func TestJavaArgs(t *testing.T) {
	home := "/usr/lib/jvm/jdk"
	for _, c := range []struct {
		tc   TaskConfig
		jar  string
		want string
	}{
		{TaskConfig{}, "/local/app.jar", "/usr/lib/jvm/jdk/bin/java -jar /local/app.jar"},
		{TaskConfig{JVMOptions: []string{"-Xmx64m", "-Da=b"}, Args: []string{"x", "y z"}}, "/local/app.jar",
			"/usr/lib/jvm/jdk/bin/java|-Xmx64m|-Da=b|-jar|/local/app.jar|x|y z"},
		{TaskConfig{Class: "app.Main"}, "", "/usr/lib/jvm/jdk/bin/java app.Main"},
		{TaskConfig{Class: "app.Main", ClassPath: "/local/lib/*"}, "", "/usr/lib/jvm/jdk/bin/java -cp /local/lib/* app.Main"},
		{TaskConfig{Class: "app.Main", ClassPath: "/local/lib/*"}, "/local/app.jar", "/usr/lib/jvm/jdk/bin/java -cp /local/lib/*:/local/app.jar app.Main"},
		{TaskConfig{Class: "app.Main"}, "/local/app.jar", "/usr/lib/jvm/jdk/bin/java -cp /local/app.jar app.Main"},
		{TaskConfig{ClassPath: "/local/lib/*"}, "/local/app.jar", "/usr/lib/jvm/jdk/bin/java -cp /local/lib/* -jar /local/app.jar"},
	} {
		tc := c.tc
		sep := " "
		if strings.Contains(c.want, "|") {
			sep = "|"
		}
		if got := javaArgs(home, &tc, c.jar); !reflect.DeepEqual(got, strings.Split(c.want, sep)) {
			t.Errorf("%+v: got %q", c.tc, got)
		}
	}
}

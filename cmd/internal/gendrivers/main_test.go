package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// root is the module's root, from this package's directory.
const root = "../../.."

// TestCheckedIn fails while a checked-in file differs from what the driver
// table in providers/drivers.go makes, or a generated file is left that it
// no longer makes: run go generate ./providers/... .
func TestCheckedIn(t *testing.T) {
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%v: run go generate ./providers/...", err)
			continue
		}
		if diff := cmp.Diff(string(files[name]), string(got)); diff != "" {
			t.Errorf("%s differs from what gendrivers writes; run go generate ./providers/... (-generated +checked in):\n%s", name, diff)
		}
	}
	stale, err := staleFiles(root, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		t.Errorf("%s is generated but the driver table no longer makes it; run go generate ./providers/...", name)
	}
}

// TestWrite runs the generator into a copy of the files it reads and
// writes, with a stale generated file among them, and compares.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	docs, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(docsFile)))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, docsFile), docs)
	stale := filepath.Join(dir, "providers", "blob", "oldcloud.go")
	writeFile(t, stale, []byte(header+"\n\npackage blob\n"))
	mine := filepath.Join(dir, "providers", "aws", "aws.go")
	writeFile(t, mine, []byte("// Package aws is written by hand.\npackage aws\n"))

	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	want, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Error(err)
		} else if !bytes.Equal(got, content) {
			t.Errorf("%s: written content differs from generate's", name)
		}
		if strings.HasSuffix(name, ".go") && !bytes.HasPrefix(content, []byte(header+"\n")) {
			t.Errorf("%s does not start with the generated-code header", name)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale generated file: got %v, want it removed", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a file without the header: got %v, want it kept", err)
	}
}

func TestReplaceTable(t *testing.T) {
	doc := "# T\n\n" + tableStart + "old\n" + tableEnd + "\nrest\n"
	got, err := replaceTable([]byte(doc), []byte("| new |\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# T\n\n" + tableStart + "| new |\n" + tableEnd + "\nrest\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"no markers\n", tableStart + "no end\n", tableEnd + tableStart} {
		if _, err := replaceTable([]byte(bad), nil); err == nil {
			t.Errorf("replaceTable(%q): got no error", bad)
		}
	}
}

func TestAnd(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and c"},
	} {
		if got := and(tc.words); got != tc.want {
			t.Errorf("and(%q): got %q, want %q", tc.words, got, tc.want)
		}
	}
}

func writeFile(t *testing.T, name string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

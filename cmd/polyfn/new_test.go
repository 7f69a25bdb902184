package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/internal/usermodule"
)

func TestNewNames(t *testing.T) {
	for _, name := range []string{"greeter", "orders2", "a", strings.Repeat("a", 63)} {
		if err := checkNewName(name); err != nil {
			t.Errorf("%q: %v, want it accepted", name, err)
		}
	}
	for name, want := range map[string]string{
		"":                      "lower-case letters and digits",
		"Greeter":               "lower-case letters and digits",
		"my-fn":                 "lower-case letters and digits", // an app name, not a package name
		"my_fn":                 "lower-case letters and digits",
		"2fa":                   "starting with a letter",
		"héllo":                 "lower-case letters and digits",
		strings.Repeat("a", 64): "at most 63",
		"func":                  "Go keyword",
		"type":                  "Go keyword",
		"main":                  "command",
		"launch":                "launch",
		"vendor":                "vendor",
		"testdata":              "testdata",
	} {
		err := checkNewName(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", name, err, want)
		}
	}
}

func TestNewModulePath(t *testing.T) {
	for text, want := range map[string]string{
		"module example.com/app\n\ngo 1.26\n":             "example.com/app",
		"// a comment\nmodule   \"example.com/q\" // c\n": "example.com/q",
		"go 1.26\nmodule example.com/late\n":              "example.com/late",
	} {
		if got, err := modulePath([]byte(text)); err != nil || got != want {
			t.Errorf("modulePath(%q) = %q, %v, want %q", text, got, err, want)
		}
	}
	for _, text := range []string{"", "go 1.26\n", "modules x\n"} {
		if got, err := modulePath([]byte(text)); err == nil {
			t.Errorf("modulePath(%q) = %q, want an error", text, got)
		}
	}
	for _, p := range []string{"example.com/x", "github.com/a/b-c", "x"} {
		if err := validModulePath(p); err != nil {
			t.Errorf("validModulePath(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "example.com//x", "a b", "x/", "x./y", "/abs"} {
		if err := validModulePath(p); err == nil {
			t.Errorf("validModulePath(%q) accepted", p)
		}
	}
}

// TestNewOutsideAModule: without --module, polyfn new needs a go.mod and
// writes nothing without one.
func TestNewOutsideAModule(t *testing.T) {
	dir := t.TempDir()
	err := newFunction(t.Context(), []string{"greeter", "--dir", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Fatalf("got %v, want an error saying there is no go.mod", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}

// runPolyfn runs the built command in dir as a user does.
func runPolyfn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, err := polyfnBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestNewInUsersModule runs polyfn new as a user does, in a module of the
// user's own: what it writes vets for every build tag, its test passes
// unchanged, its plan builds, and a second run refuses to overwrite it.
func TestNewInUsersModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a user's module for every cloud; skipped with -short")
	}
	mod := usermodule.New(t, nil)
	stdout, stderr, err := runPolyfn(t, mod.Dir, "new", "greeter")
	if err != nil {
		t.Fatalf("polyfn new greeter: %v\n%s", err, stderr)
	}
	for _, line := range []string{
		"go test ./greeter/",
		"go run ./cmd/greeter",
		"curl http://127.0.0.1:8080/greeter/hello/ada",
		"polyfn build --cloud aws ./cmd/greeter",
		"polyfn build --cloud gcp ./cmd/greeter",
		"polyfn build --cloud azure ./cmd/greeter",
	} {
		if !strings.Contains(stdout, line) {
			t.Errorf("the next steps lack %q:\n%s", line, stdout)
		}
	}
	written := map[string][]byte{}
	for _, f := range []string{"greeter/greeter.go", "greeter/greeter_test.go", "cmd/greeter/main.go"} {
		b, err := os.ReadFile(filepath.Join(mod.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		written[f] = b
	}

	t.Run("again", func(t *testing.T) {
		_, stderr, err := runPolyfn(t, mod.Dir, "new", "greeter")
		if err == nil {
			t.Fatal("a second polyfn new greeter succeeded")
		}
		for f, b := range written {
			if !strings.Contains(stderr, filepath.Join(mod.Dir, filepath.FromSlash(f))) {
				t.Errorf("the error does not name %s:\n%s", f, stderr)
			}
			if now, err := os.ReadFile(filepath.Join(mod.Dir, f)); err != nil || !bytes.Equal(now, b) {
				t.Errorf("%s changed (%v)", f, err)
			}
		}
	})

	// The checks below read the module and write nothing in it but the
	// build cache's entries: they run side by side, once go.mod lists the
	// requirements of each build tag (listing the packages records them,
	// compiling nothing), which the go commands would otherwise each
	// write at once.
	for _, tag := range []string{"", "aws", "gcp", "azure"} {
		if _, err := mod.Go("list", "-deps", "-test", "-tags", tag, "./..."); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("checks", func(t *testing.T) {
		for _, tag := range []string{"", "aws", "gcp", "azure"} {
			t.Run("vet-"+tag, func(t *testing.T) {
				t.Parallel()
				if _, err := mod.Go("vet", "-tags", tag, "./..."); err != nil {
					t.Error(err)
				}
			})
		}
		t.Run("test", func(t *testing.T) {
			t.Parallel()
			if _, err := mod.Go("test", "-count=1", "./..."); err != nil {
				t.Error(err)
			}
		})
		t.Run("plan", func(t *testing.T) {
			t.Parallel()
			out, stderr, err := runPolyfn(t, mod.Dir, "build", "--plan", "./cmd/greeter")
			if err != nil {
				t.Fatalf("polyfn build --plan: %v\n%s", err, stderr)
			}
			for _, want := range []string{`"greeter-on-message"`, `"GREETER_TOPIC_URL"`, `"publish"`} {
				if !strings.Contains(out, want) {
					t.Errorf("the plan lacks %s:\n%s", want, out)
				}
			}
		})
	})
}

// TestNewModule: --module writes a new module that, once it requires
// polyfn (here replaced by this checkout, as usermodule does), builds.
func TestNewModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a user's module; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "x")
	if _, stderr, err := runPolyfn(t, t.TempDir(), "new", "shop", "--module", "example.com/x", "--dir", dir); err != nil {
		t.Fatalf("polyfn new --module: %v\n%s", err, stderr)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(gomod), "module example.com/x\n") {
		t.Errorf("go.mod:\n%s", gomod)
	}
	root := emulators.ModuleRoot(t)
	gomod = append(gomod, "\nrequire github.com/polyfn/polyfn v0.0.0\n\nreplace github.com/polyfn/polyfn => "+root+"\n"...)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"go.mod": gomod, "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &usermodule.Module{Dir: dir}
	if _, err := m.Go("build", "./..."); err != nil {
		t.Fatal(err)
	}
}

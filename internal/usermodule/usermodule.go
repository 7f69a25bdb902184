// Package usermodule makes, for tests and benchmarks, a Go module of a
// user's own: a repository that requires polyfn and replaces it with this
// checkout, as a user testing against a local copy would. What polyfn
// promises its users (which modules a binary links, how fast it starts) is
// measured there, not only on the examples compiled into this repository.
package usermodule

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/internal/emulators"
)

// Path is the module path of the modules New writes.
const Path = "example.com/app"

// Greeter is the README's minimal function in a user's module: one HTTP
// route, no resources, no telemetry exporter, and its main at
// ./cmd/greeter.
var Greeter = map[string]string{
	"greeter/greeter.go": `// Package greeter is a minimal function: one route, no resources.
package greeter

import (
	"fmt"
	"net/http"

	"github.com/polyfn/polyfn/core"
)

// New returns the greeter app.
func New() *core.App {
	app := core.NewApp("greeter")
	app.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", r.PathValue("name"))
	})
	return app
}
`,
	"cmd/greeter/main.go": `package main

import (
	"github.com/polyfn/polyfn/cmd/launch"

	"` + Path + `/greeter"
)

func main() { launch.Start(greeter.New()) }
`,
}

// Module is a user's module on disk.
type Module struct {
	// Dir is the module's root directory.
	Dir string
}

// New writes a module with files (paths relative to its root) in a
// temporary directory removed after t. Its go.mod requires polyfn,
// replaced by this checkout, and starts from polyfn's go.sum, so that
// builds resolve every module from the module cache that polyfn's own
// build filled.
func New(t testing.TB, files map[string]string) *Module {
	t.Helper()
	root := emulators.ModuleRoot(t)
	dir := t.TempDir()
	goVersion, err := goDirective(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := fmt.Sprintf("module %s\n\ngo %s\n\nrequire github.com/polyfn/polyfn v0.0.0\n\nreplace github.com/polyfn/polyfn => %s\n", Path, goVersion, root)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"go.mod": gomod, "go.sum": string(sum)}
	for name, text := range files {
		all[name] = text
	}
	for name, text := range all {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &Module{Dir: dir}
}

// Go runs the go command in the module, with -mod=mod so that it records
// the requirements polyfn brings, and returns its standard output.
func (m *Module) Go(args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("go %s in a user's module: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Build builds pkg of the module for deployment, as `polyfn build` does
// (static, trimmed, stripped), with the build tags tags, into out.
func (m *Module) Build(pkg, tags, out string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (-tags %q) in a user's module: %v\n%s", pkg, tags, err, output)
	}
	return nil
}

// Modules returns the paths of the modules that pkg links under tags,
// other than the user's module itself, sorted.
func (m *Module) Modules(pkg, tags string) ([]string, error) {
	args := []string{"list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	out, err := m.Go(append(args, pkg)...)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var mods []string
	for _, p := range strings.Fields(out) {
		if p != Path && !seen[p] {
			seen[p] = true
			mods = append(mods, p)
		}
	}
	slices.Sort(mods)
	return mods, nil
}

// goDirective returns the go version that the go.mod at path declares: a
// user's module declares at least polyfn's.
func goDirective(path string) (string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("usermodule: %s has no go directive", path)
}

package gcp

import (
	"bytes"
	"fmt"
	"go/format"
	"path/filepath"
	"slices"
	"strings"

	"github.com/polyfn/polyfn/deploy"
)

// The packages a bundle's code names.
const (
	adapterPath = "github.com/polyfn/polyfn/adapters/gcpfunctions"
	// localProviders links the drivers every build made with cmd/launch
	// serves (file://, mem://, …); a bundle links it too.
	localProviders = "github.com/polyfn/polyfn/providers/local"
)

// Bundle is a function's source bundle for Cloud Run functions: a Go
// module whose root package registers the apps' entry points with the
// Functions Framework in init(), making the call the function's main
// makes to launch.Start.
type Bundle struct {
	// Name is the function's name, Pkg its main package as built, Module
	// the bundle's module path.
	Name, Pkg, Module string
	// Args are the sources of launch.Start's arguments, Imports the
	// packages they use.
	Args    []string
	Imports []Import
	// Drivers are the gocloud.dev driver packages the -tags gcp build of
	// main links besides providers/local's.
	Drivers []string
	Host    Host
	// EntryPoints are the entry points the apps register, in order.
	EntryPoints []string
}

// Import is an import of a Go file: Name is empty for the default name.
type Import struct{ Name, Path string }

// Host is the module polyfn build runs in, which the bundle requires
// through a replace directive, with its requirements and checksums, so
// that the bundle builds offline with the versions the host was tested
// with.
type Host struct {
	Path, Dir, GoVersion string
	Require              []Module
	Replace              []Replace
	GoSum                []byte
}

// Module is a module path and version.
type Module struct{ Path, Version string }

// Replace is a replace directive of the host's go.mod.
type Replace struct{ Old, New Module }

// EntryPoints returns the entry points the plan's units register with
// the Functions Framework: an app's name for its routes, an event
// function's name for it (as gcpfunctions names them).
func EntryPoints(p *deploy.Plan) []string {
	var out []string
	for _, u := range p.Units {
		ep := u.App
		if u.Kind == deploy.EventUnit {
			ep = u.Function
		}
		if !slices.Contains(out, ep) {
			out = append(out, ep)
		}
	}
	return out
}

// Runtime is the Cloud Run functions runtime of the host's Go version:
// go126 for Go 1.26.
func (b Bundle) Runtime() string { return "go" + strings.ReplaceAll(b.GoMinor(), ".", "") }

// GoMinor is the host's Go version without its patch release: 1.26.
func (b Bundle) GoMinor() string {
	parts := strings.SplitN(b.Host.GoVersion, ".", 3)
	return strings.Join(parts[:min(len(parts), 2)], ".")
}

// AllImports are function.go's imports: the adapter, the packages of
// launch.Start's arguments, and the drivers for their side effects.
func (b Bundle) AllImports() ([]Import, error) {
	imports := []Import{{Path: adapterPath}}
	for _, im := range b.Imports {
		if im.Name == "gcpfunctions" {
			return nil, fmt.Errorf("gcp: %s: an import named gcpfunctions in main would collide with polyfn's adapter; rename it", b.Pkg)
		}
		imports = append(imports, im)
	}
	for _, p := range append(slices.Clone(b.Drivers), localProviders) {
		imports = append(imports, Import{Name: "_", Path: p})
	}
	return imports, nil
}

// Replace returns the host's replacements as go.mod writes them, a
// directory relative to the host made absolute.
func (b Bundle) Replace() []string {
	var out []string
	for _, r := range b.Host.Replace {
		newPath := r.New.Path
		if r.New.Version == "" && !filepath.IsAbs(newPath) {
			newPath = filepath.Join(b.Host.Dir, newPath)
		}
		out = append(out, strings.TrimSpace(r.Old.Path+" "+r.Old.Version)+" => "+strings.TrimSpace(newPath+" "+r.New.Version))
	}
	return out
}

// Files returns the bundle's files by slash-separated path: go.mod,
// go.sum, function.go, cmd/main.go and the Dockerfile.
func (b Bundle) Files() (map[string][]byte, error) {
	if len(b.EntryPoints) == 0 {
		return nil, fmt.Errorf("gcp: bundle %s: no entry points", b.Name)
	}
	if _, err := b.AllImports(); err != nil {
		return nil, err
	}
	files := map[string][]byte{"go.sum": b.Host.GoSum}
	for name, t := range map[string]string{
		"go.mod": "go.mod.tmpl", "function.go": "function.go.tmpl", "cmd/main.go": "main.go.tmpl", "Dockerfile": "Dockerfile.tmpl",
	} {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, t, b); err != nil {
			return nil, err
		}
		out := buf.Bytes()
		if strings.HasSuffix(name, ".go") {
			var err error
			if out, err = format.Source(out); err != nil {
				return nil, fmt.Errorf("gcp: bundle %s: %s: %w", b.Name, name, err)
			}
		}
		files[name] = out
	}
	return files, nil
}

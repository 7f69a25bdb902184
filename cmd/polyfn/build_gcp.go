package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	gotoken "go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	gcpdeploy "github.com/polyfn/polyfn/deploy/gcp"
	"github.com/polyfn/polyfn/providers"
)

func init() {
	// Cloud Run runs x86-64 only; the bundle is source, built by Cloud Build.
	packagers["gcp"] = packager{archs: []string{"amd64"}, pack: packGCP}
}

const (
	// launchPath is the package whose Start a function's main calls.
	launchPath = "github.com/polyfn/polyfn/cmd/launch"
	// bundleModulePrefix starts the module path of every bundle. The .local
	// domain cannot be registered, so the path never collides with a real
	// module.
	bundleModulePrefix = "polyfn.local/"
)

// packGCP writes <out>/gcp/<name>/: the source bundle for Cloud Run
// functions and deploy.sh, DEPLOY.md and the alert policies that
// package deploy/gcp renders from the deployment plan.
func packGCP(ctx context.Context, job buildJob) error {
	call, err := readLaunchCall(ctx, job.Pkg)
	if err != nil {
		return err
	}
	host, err := readHostModule(ctx)
	if err != nil {
		return err
	}
	drivers, err := linkedDrivers(ctx, job.Pkg)
	if err != nil {
		return err
	}
	files, entryPoints, err := gcpFiles(job.Pkg, job.Name, job.Manifests, call, drivers, host, job.Grants)
	if err != nil {
		return err
	}
	dir := filepath.Join(job.OutDir, job.Name)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if name == "deploy.sh" {
			mode = 0o755
		}
		if err := os.WriteFile(p, content, mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(job.Stdout, "wrote %s (entry points: %s)\ndeploy: %s (see %s)\n", dir,
		strings.Join(entryPoints, ", "), filepath.Join(dir, "deploy.sh"), filepath.Join(dir, "DEPLOY.md"))
	return nil
}

// gcpFiles returns the bundle's files and the deployment's by path, and
// the entry points the bundle registers; g are the --scheme options (nil:
// every variable's URL has its kind's default scheme).
func gcpFiles(pkg, name string, ms []core.Manifest, call launchCall, drivers []string, host hostModule, g *deploy.GrantOptions) (map[string][]byte, []string, error) {
	plan, err := deploy.NewPlan(ms, nil)
	if err != nil {
		return nil, nil, err
	}
	b := gcpdeploy.Bundle{Name: name, Pkg: pkg, Module: bundleModulePrefix + name, Args: call.Args, Drivers: drivers,
		EntryPoints: gcpdeploy.EntryPoints(plan), Host: gcpdeploy.Host{Path: host.Path, Dir: host.Dir, GoVersion: host.GoVersion, GoSum: host.GoSum}}
	for _, im := range call.Imports {
		if im.Name == defaultImportName(im.Path) {
			im.Name = ""
		}
		b.Imports = append(b.Imports, gcpdeploy.Import{Name: im.Name, Path: im.Path})
	}
	for _, r := range host.Mod.Require {
		b.Host.Require = append(b.Host.Require, gcpdeploy.Module{Path: r.Path, Version: r.Version})
	}
	for _, r := range host.Mod.Replace {
		b.Host.Replace = append(b.Host.Replace, gcpdeploy.Replace{Old: gcpdeploy.Module(r.Old), New: gcpdeploy.Module(r.New)})
	}
	d, err := gcpdeploy.New(plan, gcpdeploy.Options{Runtime: b.Runtime(), Grants: g})
	if err != nil {
		return nil, nil, err
	}
	files, err := b.Files()
	if err != nil {
		return nil, nil, err
	}
	docs, err := d.Files(gcpdeploy.About{Name: name, Pkg: pkg, HostPath: host.Path})
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(files, docs)
	return files, b.EntryPoints, nil
}

// launchCall is what a function's main passes to launch.Start: the
// source of each argument and the imports they use.
type launchCall struct {
	Args    []string
	Imports []goImport
}

type goImport struct{ Name, Path string }

// readLaunchCall finds the launch.Start call in the main package pkg. Its
// arguments may use only imported packages, so that the bundle's package can
// make the same call.
func readLaunchCall(ctx context.Context, pkg string) (launchCall, error) {
	out, err := goOutput(ctx, "list", "-json", pkg)
	if err != nil {
		return launchCall{}, err
	}
	var p struct {
		Dir, Name, ImportPath string
		GoFiles               []string
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return launchCall{}, fmt.Errorf("reading go list output for %s: %w", pkg, err)
	}
	if p.Name != "main" {
		return launchCall{}, fmt.Errorf("%s is package %s; name a main package that calls launch.Start", pkg, p.Name)
	}
	fset := gotoken.NewFileSet()
	var calls []launchCall
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return launchCall{}, err
		}
		found, err := launchCallsIn(fset, f)
		if err != nil {
			return launchCall{}, fmt.Errorf("%s: %w", p.ImportPath, err)
		}
		calls = append(calls, found...)
	}
	if len(calls) != 1 {
		return launchCall{}, fmt.Errorf("%s: found %d calls of launch.Start, want one in func main", p.ImportPath, len(calls))
	}
	return calls[0], nil
}

// launchCallsIn returns the launch.Start calls in f's func main.
func launchCallsIn(fset *gotoken.FileSet, f *ast.File) ([]launchCall, error) {
	imports := map[string]string{} // local name → path
	launchName := ""
	for _, is := range f.Imports {
		path, _ := strconv.Unquote(is.Path.Value)
		name := importName(is)
		if path == launchPath {
			launchName = name
		}
		imports[name] = path
	}
	var calls []launchCall
	var err error
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "main" || fn.Recv != nil || launchName == "" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || err != nil || !isSelector(call.Fun, launchName, "Start") {
				return err == nil
			}
			var c launchCall
			c, err = portableCall(fset, call.Args, imports)
			calls = append(calls, c)
			return false
		})
	}
	return calls, err
}

// importName is the name an import is used by in its file: the explicit
// name, or else the default one.
func importName(is *ast.ImportSpec) string {
	if is.Name != nil {
		return is.Name.Name
	}
	path, _ := strconv.Unquote(is.Path.Value)
	return defaultImportName(path)
}

// defaultImportName is the name a package is conventionally imported by: its
// path's last element without a major-version suffix. A package whose name
// breaks the convention needs an explicit name in main to be bundled.
func defaultImportName(path string) string {
	elems := strings.Split(path, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = elems[len(elems)-2]
	}
	return last
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg
}

// portableCall renders args, checking that every identifier they use is an
// imported package's member, a struct field name or a predeclared constant.
func portableCall(fset *gotoken.FileSet, args []ast.Expr, imports map[string]string) (launchCall, error) {
	var c launchCall
	used := map[string]bool{}
	bad := ""
	var visit func(ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if _, imported := imports[x.Name]; imported {
					used[x.Name] = true
					return false
				}
			}
			ast.Inspect(n.X, visit) // not n.Sel, a member name
			return false
		case *ast.KeyValueExpr:
			if _, field := n.Key.(*ast.Ident); field {
				ast.Inspect(n.Value, visit)
				return false
			}
		case *ast.Ident:
			if n.Name != "nil" && n.Name != "true" && n.Name != "false" && bad == "" {
				bad = n.Name
			}
		}
		return true
	}
	for _, arg := range args {
		ast.Inspect(arg, visit)
		if bad != "" {
			return launchCall{}, fmt.Errorf("launch.Start's argument uses %s, which is declared in package main; "+
				"declare the apps in an importable package (as functions/users does) to bundle them", bad)
		}
		var b bytes.Buffer
		if err := format.Node(&b, fset, arg); err != nil {
			return launchCall{}, err
		}
		c.Args = append(c.Args, b.String())
	}
	for name := range used {
		c.Imports = append(c.Imports, goImport{Name: name, Path: imports[name]})
	}
	slices.SortFunc(c.Imports, func(a, b goImport) int { return strings.Compare(a.Path, b.Path) })
	return c, nil
}

// hostModule is the module polyfn build runs in: the bundle requires it
// through a replace directive, with its requirements and checksums.
type hostModule struct {
	Path, Dir, GoVersion string
	Mod                  modFile
	GoSum                []byte
}

// modFile is the part of `go mod edit -json` the bundle copies.
type modFile struct {
	Require []struct{ Path, Version string }
	Replace []struct {
		Old, New struct{ Path, Version string }
	}
}

func readHostModule(ctx context.Context) (hostModule, error) {
	out, err := goOutput(ctx, "list", "-m", "-json")
	if err != nil {
		return hostModule{}, err
	}
	var m struct{ Path, Dir, GoVersion string }
	if err := json.Unmarshal(out, &m); err != nil {
		return hostModule{}, fmt.Errorf("reading go list -m output: %w", err)
	}
	h := hostModule{Path: m.Path, Dir: m.Dir, GoVersion: m.GoVersion}
	if out, err = goOutput(ctx, "mod", "edit", "-json", filepath.Join(h.Dir, "go.mod")); err != nil {
		return hostModule{}, err
	}
	if err := json.Unmarshal(out, &h.Mod); err != nil {
		return hostModule{}, fmt.Errorf("reading go mod edit -json output: %w", err)
	}
	h.GoSum, err = os.ReadFile(filepath.Join(h.Dir, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return hostModule{}, err
	}
	return h, nil
}

// goOutput runs the go command and returns its standard output.
func goOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// linkedDrivers returns the gocloud.dev drivers that the -tags gcp build of
// the main package pkg links beyond providers/local: those of the kind
// packages main imports (providers/blob, …). The bundle is built without
// tags, so it imports the drivers themselves.
func linkedDrivers(ctx context.Context, pkg string) ([]string, error) {
	out, err := goOutput(ctx, "list", "-deps", "-tags", "gcp", pkg)
	if err != nil {
		return nil, err
	}
	deps := strings.Fields(string(out))
	var drivers []string
	for _, d := range providers.Drivers() {
		if d.Provider != "local" && slices.Contains(deps, d.Package) && !slices.Contains(drivers, d.Package) {
			drivers = append(drivers, d.Package)
		}
	}
	slices.Sort(drivers)
	return drivers, nil
}

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
	"text/template"
	"time"

	"github.com/polyfn/polyfn/adapters/gcpfunctions"
	"github.com/polyfn/polyfn/core"
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

// localProviders is the package that links the drivers every build made
// with cmd/launch serves (file://, mem://, …); a bundle links it too.
const localProviders = "github.com/polyfn/polyfn/providers/local"

// packGCP writes <out>/gcp/<name>/, a source bundle for Cloud Run functions
// (Cloud Functions 2nd gen): a Go module whose root package registers the
// function's entry points with the Functions Framework in init(), a
// cmd/main.go to serve them locally or in the container the Dockerfile
// builds, an env.yaml template of the resource URLs, and DEPLOY.md with the
// gcloud command of each entry point.
func packGCP(ctx context.Context, job buildJob) error {
	// The deployment plan first: a declaration it cannot express fails early.
	plan, err := planGCP(job.Manifests)
	if err != nil {
		return err
	}
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
	b := gcpBundle{Name: job.Name, Pkg: job.Pkg, Module: bundleModulePrefix + job.Name, Call: call, Host: host, Plan: plan, Drivers: drivers}
	files, err := b.files()
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
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(job.Stdout, "wrote %s (entry points: %s)\ndeploy: see %s\n",
		dir, strings.Join(plan.EntryPoints(), ", "), filepath.Join(dir, "DEPLOY.md"))
	return nil
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

// gcpBundle is everything a bundle's files are made from.
type gcpBundle struct {
	Name, Pkg, Module string
	Call              launchCall
	// Drivers are the gocloud.dev driver packages the bundle links besides
	// providers/local's: linkedDrivers of main.
	Drivers []string
	Host    hostModule
	Plan    gcpPlan
}

// files returns the bundle's files by slash-separated path.
func (b gcpBundle) files() (map[string][]byte, error) {
	fn, err := b.functionGo()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"go.mod":      b.goMod(),
		"go.sum":      b.Host.GoSum,
		"function.go": fn,
	}
	for name, tmpl := range map[string]*template.Template{
		"cmd/main.go": mainGoTemplate, "Dockerfile": dockerfileTemplate, "DEPLOY.md": deployTemplate,
	} {
		if files[name], err = render(tmpl, b); err != nil {
			return nil, err
		}
	}
	if len(b.Plan.Env) > 0 {
		files["env.yaml"] = b.Plan.envYAML(b.Name)
	}
	alerts, err := b.Plan.alertFiles()
	if err != nil {
		return nil, err
	}
	maps.Copy(files, alerts)
	return files, nil
}

func render(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, err
	}
	if strings.HasSuffix(t.Name(), ".go") {
		return format.Source(buf.Bytes())
	}
	return buf.Bytes(), nil
}

// functionGo is the bundle's root package: it makes main's launch.Start
// call through the adapter instead.
func (b gcpBundle) functionGo() ([]byte, error) {
	imports := []goImport{{Path: "github.com/polyfn/polyfn/adapters/gcpfunctions"}}
	for _, im := range b.Call.Imports {
		if im.Name == "gcpfunctions" {
			return nil, fmt.Errorf("%s: an import named gcpfunctions in main would collide with polyfn's adapter; rename it", b.Pkg)
		}
		if im.Name == defaultImportName(im.Path) {
			im.Name = ""
		}
		imports = append(imports, im)
	}
	for _, p := range append(slices.Clone(b.Drivers), localProviders) {
		imports = append(imports, goImport{Name: "_", Path: p})
	}
	return render(functionGoTemplate, struct {
		gcpBundle
		Imports []goImport
	}{b, imports})
}

// goMod requires the host module at the directory it was built from, with
// the host's requirements and replacements, so that the bundle builds
// offline with exactly the versions the host was tested with.
func (b gcpBundle) goMod() []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "// Generated by \"polyfn build --cloud gcp %s\". Before deploying, see DEPLOY.md:\n", b.Pkg)
	fmt.Fprintf(&w, "// Cloud Build cannot follow the replace directive below.\nmodule %s\n\ngo %s\n\n", b.Module, b.Host.GoVersion)
	fmt.Fprintf(&w, "require %s v0.0.0-00010101000000-000000000000\n\n", b.Host.Path)
	fmt.Fprintf(&w, "// The requirements of %s.\nrequire (\n", b.Host.Path)
	for _, r := range b.Host.Mod.Require {
		fmt.Fprintf(&w, "\t%s %s\n", r.Path, r.Version)
	}
	fmt.Fprintf(&w, ")\n\nreplace %s => %s\n", b.Host.Path, b.Host.Dir)
	for _, r := range b.Host.Mod.Replace {
		newPath := r.New.Path
		if r.New.Version == "" && !filepath.IsAbs(newPath) { // a directory, relative to the host
			newPath = filepath.Join(b.Host.Dir, newPath)
		}
		old := strings.TrimSpace(r.Old.Path + " " + r.Old.Version)
		fmt.Fprintf(&w, "replace %s => %s\n", old, strings.TrimSpace(newPath+" "+r.New.Version))
	}
	return w.Bytes()
}

// GoMinor is the host's Go version without its patch release: 1.26.
func (b gcpBundle) GoMinor() string {
	parts := strings.SplitN(b.Host.GoVersion, ".", 3)
	return strings.Join(parts[:min(len(parts), 2)], ".")
}

// Deploy is the gcloud command that deploys entryPoint as the function name
// with trigger flags, on the Go runtime of the host's Go version (go126 for
// Go 1.26).
func (b gcpBundle) Deploy(name, entryPoint string, flags []string) string {
	lines := []string{fmt.Sprintf(`gcloud functions deploy %s --gen2 --runtime=go%s --region="$REGION" --source=.`,
		name, strings.ReplaceAll(b.GoMinor(), ".", "")), "--entry-point=" + entryPoint}
	lines = append(lines, flags...)
	if len(b.Plan.Env) > 0 {
		lines = append(lines, "--env-vars-file=env.yaml")
	}
	return shellLines(lines...)
}

// Target is the entry point the container serves by default: the first.
func (b gcpBundle) Target() string { return b.Plan.EntryPoints()[0] }

var functionGoTemplate = template.Must(template.New("function.go").Parse(`// Code generated by "polyfn build --cloud gcp {{.Pkg}}"; DO NOT EDIT.

// Package function is the {{.Name}} function for Cloud Run functions. Its
// init function registers these entry points with the Functions Framework,
// of which FUNCTION_TARGET selects the one an instance serves:
{{- range .Plan.EntryPoints}}
//   - {{.}}
{{- end}}
package function

import (
{{- range .Imports}}
	{{if .Name}}{{.Name}} {{end}}"{{.Path}}"
{{- end}}
)

func init() {
	gcpfunctions.MustRegister({{range $i, $a := .Call.Args}}{{if $i}}, {{end}}{{$a}}{{end}})
}
`))

var mainGoTemplate = template.Must(template.New("main.go").Parse(`// Code generated by "polyfn build --cloud gcp {{.Pkg}}"; DO NOT EDIT.

// Command main serves the {{.Name}} function with the Functions Framework,
// locally or in the container the Dockerfile builds. FUNCTION_TARGET selects
// the entry point; it listens on every interface and $PORT (8080), or on
// POLYFN_ADDR (host:port) when that is set. Cloud Run functions do not use
// it: Google's buildpacks generate their own main.
package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/polyfn/polyfn/adapters/gcpfunctions"

	_ "{{.Module}}"
)

func main() {
	host, port, err := gcpfunctions.ListenAddress(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	if err := funcframework.StartHostPort(host, port); err != nil {
		log.Fatal(err)
	}
}
`))

var dockerfileTemplate = template.Must(template.New("Dockerfile").Parse(`# Generated by "polyfn build --cloud gcp {{.Pkg}}".
# The {{.Name}} function as a container for Cloud Run, serving one entry point:
#   docker build --build-arg FUNCTION_TARGET=<entry point> -t IMAGE .
# The build needs go.mod to resolve {{.Host.Path}} without the replace
# directive, or a vendor directory: see DEPLOY.md.
FROM golang:{{.GoMinor}} AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /server ./cmd

FROM gcr.io/distroless/static-debian12:nonroot
ARG FUNCTION_TARGET={{.Target}}
ENV FUNCTION_TARGET=${FUNCTION_TARGET}
COPY --from=build /server /server
ENTRYPOINT ["/server"]
`))

// maxFunctionName is the longest name Cloud Run functions take.
const maxFunctionName = 63

// gcpPlan is how a function's entry points deploy.
type gcpPlan struct {
	Deployments []gcpDeployment
	// Vars are the shell variables the commands use, with what to set them to.
	Vars []gcpVar
	// Env lists the apps' required resources, for env.yaml.
	Env []core.Resource
}

type gcpVar struct{ Name, About string }

// gcpDeployment is one `gcloud functions deploy`.
type gcpDeployment struct {
	Name       string   // the deployed function's name
	EntryPoint string   // the registered entry point (FUNCTION_TARGET)
	Serves     string   // what it serves, for the table
	Flags      []string // trigger flags
	Before     []string // commands to run before the deploy
	After      []string // commands to run after the deploy
	Notes      []string // Markdown
	// Alternative is another way to deploy the entry point, if any.
	Alternative *gcpAlternative
	// App is the app that declares the entry point; Alarms are its alarm
	// thresholds, defaults filled in, or nil when it turns alarms off.
	App    string
	Alarms *core.Alarms
}

// gcpAlternative deploys an entry point with other trigger flags.
type gcpAlternative struct {
	About string // Markdown
	Flags []string
	After []string
}

// EntryPoints lists the entry points, each once, in deployment order.
func (p gcpPlan) EntryPoints() []string {
	var names []string
	for _, d := range p.Deployments {
		if !slices.Contains(names, d.EntryPoint) {
			names = append(names, d.EntryPoint)
		}
	}
	return names
}

// planGCP works out the deployments of every app. Entry points are named as
// gcpfunctions.New names them: an app's routes after the app, each
// event function after itself.
func planGCP(ms []core.Manifest) (gcpPlan, error) {
	var p gcpPlan
	p.addVar("REGION", "the region to deploy to, such as europe-west1")
	for _, m := range ms {
		first := len(p.Deployments)
		if len(m.Routes) > 0 {
			p.Deployments = append(p.Deployments, httpDeployment(m))
		}
		for _, f := range m.Functions {
			if err := p.addFunction(f); err != nil {
				return gcpPlan{}, fmt.Errorf("app %s, function %s: %w", m.App, f.Name, err)
			}
		}
		alarms, err := alarmsOf(m, gcpTimeout)
		if err != nil {
			return gcpPlan{}, err
		}
		for i := first; i < len(p.Deployments); i++ {
			p.Deployments[i].App, p.Deployments[i].Alarms = m.App, alarms
		}
		for _, r := range m.Resources {
			if !r.Optional {
				p.Env = append(p.Env, r)
			}
		}
	}
	if len(p.Deployments) == 0 {
		return gcpPlan{}, errors.New("the function declares no HTTP route and no event function")
	}
	for _, d := range p.Deployments {
		if len(d.Name) > maxFunctionName {
			return gcpPlan{}, fmt.Errorf("function name %q is longer than Cloud Run functions' %d characters", d.Name, maxFunctionName)
		}
	}
	return p, nil
}

func (p *gcpPlan) addVar(name, about string) {
	if !slices.ContainsFunc(p.Vars, func(v gcpVar) bool { return v.Name == name }) {
		p.Vars = append(p.Vars, gcpVar{name, about})
	}
}

func httpDeployment(m core.Manifest) gcpDeployment {
	var routes []string
	for _, r := range m.Routes {
		routes = append(routes, "`"+r.Pattern+"`")
	}
	return gcpDeployment{
		Name: m.App, EntryPoint: m.App, Serves: "HTTP: " + strings.Join(routes, ", "),
		Flags: []string{"--trigger-http", "--no-allow-unauthenticated"},
		Notes: []string{"Callers need `roles/run.invoker`; for a public API, deploy with `--allow-unauthenticated` instead."},
	}
}

// retryNote explains --retry, which every event deployment has.
const retryNote = "`--retry` makes Eventarc redeliver an event whose handler fails with a retryable code; " +
	"an event that fails for good is acknowledged and logged (docs/gcp.md)."

func (p *gcpPlan) addFunction(f core.FunctionSpec) error {
	t, err := f.Trigger.Trigger()
	if err != nil {
		return err
	}
	switch t := t.(type) {
	case core.ObjectTrigger:
		p.addObjectFunction(f.Name, t)
	case core.MessageTrigger:
		p.addMessageFunction(f.Name, t)
	case core.ChangeTrigger:
		p.addChangeFunction(f.Name, t)
	case core.TimerTrigger:
		return p.addTimerFunction(f.Name, t)
	}
	return nil
}

// shellVar names the shell variable that holds the resource a URL variable
// names: MEDIA_BUCKET_URL → MEDIA_BUCKET.
func shellVar(env string) string { return strings.TrimSuffix(env, "_URL") }

func (p *gcpPlan) addObjectFunction(name string, t core.ObjectTrigger) {
	bucket := shellVar(t.Bucket)
	p.addVar(bucket, "the Cloud Storage bucket in "+t.Bucket+" (its name, not a URL)")
	filter := ""
	if t.Prefix != "" || t.Suffix != "" {
		filter = fmt.Sprintf(" with keys `%s*%s` (the adapter drops the others: Eventarc cannot filter by key)", t.Prefix, t.Suffix)
	}
	for i, k := range t.Kinds() {
		d := gcpDeployment{Name: name, EntryPoint: name, Notes: []string{retryNote}}
		if i > 0 {
			d.Name = name + "-" + strings.TrimPrefix(string(k), "object_")
		}
		if k == core.KindObjectCreated {
			d.Serves = "objects created in $" + bucket + filter
			d.Flags = []string{`--trigger-bucket="$` + bucket + `"`, "--retry"}
		} else {
			d.Serves = "objects deleted from $" + bucket + filter
			d.Flags = []string{"--trigger-event-filters=type=google.cloud.storage.object.v1.deleted",
				`--trigger-event-filters=bucket="$` + bucket + `"`, "--retry"}
		}
		p.Deployments = append(p.Deployments, d)
	}
}

func (p *gcpPlan) addMessageFunction(name string, t core.MessageTrigger) {
	topic := shellVar(t.Topic)
	if t.Topic == "" {
		topic = strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_TOPIC"
	}
	p.addVar(topic, "the Pub/Sub topic whose messages "+name+" receives (its id, not a URL)")
	maxDeliveries := t.MaxDeliveries
	if maxDeliveries == 0 {
		maxDeliveries = 5
	}
	d := gcpDeployment{
		Name: name, EntryPoint: name, Serves: "messages published to $" + topic,
		Flags: []string{`--trigger-topic="$` + topic + `"`, "--retry"},
		Notes: []string{retryNote, fmt.Sprintf("To dead-letter a message after %d deliveries, give the trigger's subscription "+
			"(`gcloud eventarc triggers describe %s`) a dead-letter topic: `gcloud pubsub subscriptions update SUBSCRIPTION "+
			"--dead-letter-topic=TOPIC --max-delivery-attempts=%d`.", maxDeliveries, name, maxDeliveries)},
	}
	if t.Ordered {
		d.Notes = append(d.Notes, "The trigger asks for ordered delivery, which Eventarc does not keep (docs/gcp.md).")
	}
	p.Deployments = append(p.Deployments, d)
}

func (p *gcpPlan) addChangeFunction(name string, t core.ChangeTrigger) {
	collection := shellVar(t.Source)
	p.addVar(collection, "the Firestore collection named by "+t.Source+", such as users")
	p.addVar("FIRESTORE_LOCATION", "the location of the Firestore database, such as eur3")
	p.Deployments = append(p.Deployments, gcpDeployment{
		Name: name, EntryPoint: name, Serves: "changes to documents in $" + collection + " (Firestore, database (default))",
		Flags: []string{
			"--trigger-event-filters=type=google.cloud.firestore.document.v1.written",
			"--trigger-event-filters=database='(default)'",
			`--trigger-event-filters-path-pattern=document="$` + collection + `/{document}"`,
			`--trigger-location="$FIRESTORE_LOCATION"`, "--retry",
		},
		Notes: []string{retryNote},
	})
}

func (p *gcpPlan) addTimerFunction(name string, t core.TimerTrigger) error {
	schedule, err := cloudSchedulerCron(t.Schedule)
	if err != nil {
		return err
	}
	zone := t.TimeZone
	if zone == "" {
		zone = "Etc/UTC"
	}
	topic := name + "-timer"
	job := func(target string, flags ...string) string {
		return shellLines(append([]string{fmt.Sprintf(`gcloud scheduler jobs create %s %s --location="$REGION" --schedule=%s --time-zone=%s`,
			target, name, shellQuote(schedule), shellQuote(zone))}, flags...)...)
	}
	p.Deployments = append(p.Deployments, gcpDeployment{
		Name: name, EntryPoint: name, Serves: fmt.Sprintf("Cloud Scheduler, `%s` (%s), through the Pub/Sub topic `%s`", schedule, zone, topic),
		Flags:  []string{"--trigger-topic=" + topic, "--retry"},
		Before: []string{"gcloud pubsub topics create " + topic},
		Notes:  []string{retryNote},
		After: []string{job("pubsub", "--topic="+topic, "--message-body='{}'",
			"--attributes="+gcpfunctions.SchedulerJobAttribute+"="+name)},
		Alternative: &gcpAlternative{
			About: "Or with an HTTP-target job, which calls the function with the headers " +
				"`X-CloudScheduler-JobName` and `X-CloudScheduler-ScheduleTime` (`SCHEDULER_SA` is a service account " +
				"allowed to invoke it):",
			Flags: []string{"--trigger-http", "--no-allow-unauthenticated"},
			After: []string{job("http", "--http-method=POST", `--oidc-service-account-email="$SCHEDULER_SA"`,
				`--uri="$(gcloud functions describe `+name+` --gen2 --region="$REGION" --format='value(serviceConfig.uri)')"`)},
		},
	})
	return nil
}

// shellLines joins the parts of one shell command, a part per line.
func shellLines(parts ...string) string { return strings.Join(parts, " \\\n  ") }

// shellQuote single-quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// cloudSchedulerCron translates a TimerTrigger schedule into Cloud
// Scheduler's unix-cron: five fields as they are; six, seconds first, when
// the seconds are 0; the descriptors; and @every for periods that divide an
// hour or a day.
func cloudSchedulerCron(spec string) (string, error) {
	spec = strings.TrimSpace(spec)
	descriptors := map[string]string{
		"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
		"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
	}
	if c, ok := descriptors[spec]; ok {
		return c, nil
	}
	if every, ok := strings.CutPrefix(spec, "@every "); ok {
		return cronEvery(strings.TrimSpace(every))
	}
	fields := strings.Fields(spec)
	switch {
	case len(fields) == 5:
		return strings.Join(fields, " "), nil
	case len(fields) == 6 && fields[0] == "0":
		return strings.Join(fields[1:], " "), nil
	}
	return "", fmt.Errorf("schedule %q: Cloud Scheduler takes five-field cron (minute precision)", spec)
}

func cronEvery(every string) (string, error) {
	const day = 24 * time.Hour
	d, err := time.ParseDuration(every)
	switch {
	case err != nil:
	case d >= time.Minute && d < time.Hour && d%time.Minute == 0 && time.Hour%d == 0:
		return fmt.Sprintf("*/%d * * * *", d/time.Minute), nil
	case d == time.Hour:
		return "0 * * * *", nil
	case d > time.Hour && d < day && d%time.Hour == 0 && day%d == 0:
		return fmt.Sprintf("0 */%d * * *", d/time.Hour), nil
	case d == day:
		return "0 0 * * *", nil
	}
	return "", fmt.Errorf("schedule @every %s: Cloud Scheduler repeats only by minutes that divide an hour or hours that divide a day", every)
}

// placeholderURL is env.yaml's placeholder for each kind of resource.
var placeholderURL = map[core.ResourceKind]string{
	core.KindBucket:       "gs://BUCKET",
	core.KindTopic:        "gcppubsub://projects/PROJECT/topics/TOPIC",
	core.KindSubscription: "gcppubsub://projects/PROJECT/subscriptions/SUBSCRIPTION",
	core.KindKeeper:       "gcpkms://projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY",
	core.KindVariable:     "gcpsecretmanager://projects/PROJECT/secrets/SECRET?decoder=string",
	core.KindOIDCIssuer:   "https://ISSUER",
	core.KindOIDCAudience: "AUDIENCE",
}

func (p gcpPlan) envYAML(name string) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "# The environment of the %s function: the gocloud.dev URL of each resource.\n", name)
	fmt.Fprintf(&w, "# Replace every placeholder before deploying (--env-vars-file=env.yaml).\n")
	for _, r := range p.Env {
		fmt.Fprintf(&w, "%s: %q # %s\n", r.Env, placeholderURL[r.Kind], r.Kind)
	}
	return w.Bytes()
}

var deployTemplate = template.Must(template.New("DEPLOY.md").Parse(`# Deploying {{.Name}} to Cloud Run functions

Generated by ` + "`polyfn build --cloud gcp {{.Pkg}}`" + `. This directory is a Go module
whose root package registers the function's entry points with the Functions
Framework for Go in ` + "`init()`" + `; Google's buildpacks generate the ` + "`main`" + ` package, and
the entry point (` + "`--entry-point`" + `, ` + "`FUNCTION_TARGET`" + `) selects what an instance serves.

| deployment | entry point | serves |
| --- | --- | --- |
{{- range .Plan.Deployments}}
| ` + "`{{.Name}}`" + ` | ` + "`{{.EntryPoint}}`" + ` | {{.Serves}} |
{{- end}}

## Before you deploy

1. ` + "`go.mod`" + ` replaces ` + "`{{.Host.Path}}`" + ` with the directory the bundle was built
   from, so that it builds offline there. Cloud Build cannot read that
   directory: run ` + "`go mod vendor`" + ` here (the ` + "`vendor`" + ` directory is uploaded with
   the source), or delete the ` + "`replace`" + ` line and require a published version.
{{- if .Plan.Env}}
2. Replace the placeholders in ` + "`env.yaml`" + ` with the gocloud.dev URL of each resource.
{{- end}}
{{if .Plan.Env}}3{{else}}2{{end}}. Set the shell variables the commands use
   (` + "`export {{range $i, $v := .Plan.Vars}}{{if $i}} {{end}}{{$v.Name}}=…{{end}}`" + `):

   | variable | value |
   | --- | --- |
{{- range .Plan.Vars}}
   | ` + "`{{.Name}}`" + ` | {{.About}} |
{{- end}}

## Deploy
{{range $d := .Plan.Deployments}}
### {{.Name}}

` + "```sh" + `
{{- range .Before}}
{{.}}
{{- end}}
{{$.Deploy .Name .EntryPoint .Flags}}
{{- range .After}}
{{.}}
{{- end}}
` + "```" + `
{{- with .Alternative}}

{{.About}}

` + "```sh" + `
{{$.Deploy $d.Name $d.EntryPoint .Flags}}
{{- range .After}}
{{.}}
{{- end}}
` + "```" + `
{{- end}}
{{- with .Notes}}
{{range .}}
- {{.}}
{{- end}}
{{- end}}
{{end}}
{{- if .Plan.HasAlerts}}
## Alerts

` + "`alerts/`" + ` holds a Cloud Monitoring alert policy for each deployment, from the
alarm thresholds the app declares (docs/alarms.md): 5xx responses, 429
responses (no instance available) and the p99 request latency of the Cloud
Run service of the same name. Create them once the functions are deployed;
set ` + "`NOTIFICATION_CHANNEL`" + ` to a channel's name
(` + "`projects/PROJECT/notificationChannels/ID`" + `, from ` + "`gcloud beta monitoring channels list`" + `)
to be notified, or leave it unset to only open incidents:

` + "```sh" + `
{{- range .Plan.Deployments}}{{if .AlertPolicy}}
gcloud monitoring policies create --policy-from-file={{.AlertPolicy}} ${NOTIFICATION_CHANNEL:+--notification-channels="$NOTIFICATION_CHANNEL"}
{{- end}}{{end}}
` + "```" + `

Releases of the Google Cloud CLI without ` + "`gcloud monitoring policies`" + ` have it as
` + "`gcloud alpha monitoring policies`" + `.
{{end}}
## Run locally

` + "```sh" + `
FUNCTION_TARGET={{.Target}} POLYFN_ADDR=127.0.0.1:8080 go run ./cmd
` + "```" + `

with each resource variable set, to a local URL (` + "`file:///tmp/bucket`" + `, ` + "`mem://topic`" + `)
or to a cloud one. Send events as Eventarc does: CloudEvents in binary or
structured mode, or Cloud Scheduler's headers for a timer.

## Cloud Run (container)

The ` + "`Dockerfile`" + ` builds one image per entry point:

` + "```sh" + `
docker build --build-arg FUNCTION_TARGET={{.Target}} -t "$IMAGE" . && docker push "$IMAGE"
gcloud run deploy {{.Target}} --image="$IMAGE" --region="$REGION"{{if .Plan.Env}} --env-vars-file=env.yaml{{end}}
` + "```" + `

An event entry point also needs an Eventarc trigger to the service
(` + "`gcloud eventarc triggers create --destination-run-service=…`" + `), with the
event filters of its ` + "`gcloud functions deploy`" + ` above.
`))

package launch_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/internal/usermodule"
	"github.com/polyfn/polyfn/providers"
)

const module = "github.com/polyfn/polyfn"

// cloudSDKs are the import-path prefixes of each cloud's SDKs.
//
// gocloud.dev's portable blob and pubsub packages import two small utility
// packages from google.golang.org/api (error types and URI templates, through
// gocloud's retry code and gax-go); they are not a GCP client, and
// notCloudSDK lists them.
var cloudSDKs = map[string][]string{
	"aws":   {"github.com/aws/"},
	"gcp":   {"cloud.google.com/go", "google.golang.org/api/", "github.com/GoogleCloudPlatform/functions-framework-go"},
	"azure": {"github.com/Azure/"},
}

// goTool runs the go command at the module root and returns stdout.
func goTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	cmd := exec.Command(gobin, args...)
	cmd.Dir = emulators.ModuleRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &goError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type goError struct {
	args   []string
	err    error
	stderr string
}

func (e *goError) Error() string {
	return "go " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

// depsOf lists each package of the module with its transitive non-test
// dependencies, under the given build tags.
func depsOf(t *testing.T, tags string) map[string][]string {
	t.Helper()
	args := []string{"list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	out, err := goTool(t, append(args, "./...")...)
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	return deps
}

// area returns the top-level area of a module package and its second path
// element ("adapters", "local").
func area(pkg string) (string, string) {
	rest, ok := strings.CutPrefix(pkg, module+"/")
	if !ok {
		return "", ""
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) == 1 {
		return parts[0], ""
	}
	return parts[0], parts[1]
}

var notCloudSDK = map[string]bool{
	"google.golang.org/api/googleapi":                         true,
	"google.golang.org/api/internal/third_party/uritemplates": true,
}

// isStd reports whether dep is in the standard library: its first path
// element has no dot.
func isStd(dep string) bool {
	first, _, _ := strings.Cut(dep, "/")
	return !strings.Contains(first, ".")
}

// isCloudEventsSDK reports whether dep is the CloudEvents SDK's event
// package or one of its own dependencies.
func isCloudEventsSDK(dep string) bool {
	for _, p := range []string{"github.com/cloudevents/sdk-go/v2/", "github.com/json-iterator/go", "github.com/modern-go/"} {
		if strings.HasPrefix(dep, p) {
			return true
		}
	}
	return false
}

func isCloudSDK(dep string) bool {
	if notCloudSDK[dep] {
		return false
	}
	for _, prefixes := range cloudSDKs {
		for _, p := range prefixes {
			if strings.HasPrefix(dep, p) {
				return true
			}
		}
	}
	return false
}

// isGocloudDriver reports whether dep is a gocloud.dev driver or cloud glue
// package rather than a portable type.
func isGocloudDriver(dep string) bool {
	rest, ok := strings.CutPrefix(dep, "gocloud.dev/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	switch parts[0] {
	case "aws", "gcp", "azure":
		return true
	case "blob", "pubsub", "secrets", "runtimevar", "docstore":
		// The portable API's own driver interface, batcher and internal
		// helpers come with it; any other sub-package is a driver.
		return len(parts) > 1 && !slices.Contains([]string{"driver", "batcher", "internal"}, parts[1])
	}
	return false
}

// TestDependencyRule enforces the layout's import rules (docs/architecture.md)
// for every build target.
func TestDependencyRule(t *testing.T) {
	for _, tags := range []string{"", "aws", "gcp", "azure"} {
		t.Run("tags="+tags, func(t *testing.T) {
			for pkg, deps := range depsOf(t, tags) {
				top, sub := area(pkg)
				for _, dep := range deps {
					dtop, dsub := area(dep)
					var why string
					switch top {
					case "core":
						switch {
						case pkg == module+"/core" && !isStd(dep) && !isCloudEventsSDK(dep):
							why = "the core package imports only the standard library and the CloudEvents SDK"
						case (dtop != "" && dtop != "core") || isCloudSDK(dep) || isGocloudDriver(dep):
							why = "core packages import no cloud SDK, no gocloud driver and nothing of the module outside core"
						}
					case "middleware", "telemetry", "resources":
						// Shared layers beside core: they build on core and
						// ordinary libraries, and one may use another
						// (middleware logs through telemetry's redaction).
						if dtop == "adapters" || dtop == "providers" || dtop == "cmd" || dtop == "functions" || isCloudSDK(dep) || isGocloudDriver(dep) {
							why = top + " imports core, the other shared layers and ordinary libraries, never an adapter, a provider, a gocloud driver or a cloud SDK"
						}
					case "adapters":
						if dtop == "providers" || dtop == "cmd" || dtop == "functions" ||
							(dtop == "adapters" && dsub != sub && dsub != "adaptertest") {
							why = "an adapter imports core and its own cloud's SDK, never another adapter, a provider, cmd or functions"
						}
					case "providers":
						// A kind package (providers/blob, …) links the build
						// target's drivers for its kind, which includes
						// polyfn's own driver packages under a cloud's provider.
						kindLinksDriver := slices.Contains(providers.KindPackages(), pkg) &&
							strings.HasPrefix(dep, module+"/providers/"+dsub+"/")
						if dtop == "adapters" || dtop == "cmd" || dtop == "functions" || (dtop == "providers" && dsub != sub && !kindLinksDriver) {
							why = "a provider imports core and its cloud's drivers, never an adapter or another provider"
						}
					case "deploy":
						// The plan is data: it builds on core and ordinary
						// libraries (the cron parser), never on what runs a
						// function on a cloud.
						if (dtop != "" && dtop != "core" && dtop != "deploy") || isCloudSDK(dep) || isGocloudDriver(dep) {
							why = "deploy imports core and ordinary libraries, never an adapter, a provider, functions, cmd, a gocloud driver or a cloud SDK"
						}
					case "functions":
						if dtop == "adapters" || dtop == "providers" || dtop == "cmd" || isCloudSDK(dep) || isGocloudDriver(dep) {
							why = "functions import core, middleware, telemetry, resources and gocloud portable types only"
						}
					}
					if why != "" {
						t.Errorf("%s depends on %s: %s", pkg, dep, why)
					}
				}
			}
		})
	}
}

// gocloudShared lists what gocloud.dev links into every build that uses one
// of its cloud drivers: its shared user-agent helper imports Google's API
// option package, and with it Google's auth libraries. They are linked into
// the aws and azure builds through gocloud, not through polyfn, and hold no
// GCP client (docs/providers.md measures what survives linking).
func gocloudShared(t *testing.T) map[string]bool {
	t.Helper()
	out, err := goTool(t, "list", "-deps", "gocloud.dev/internal/useragent")
	if err != nil {
		t.Fatal(err)
	}
	shared := map[string]bool{}
	for _, p := range strings.Fields(out) {
		shared[p] = true
	}
	return shared
}

// TestBinaryIsolation proves a binary built for one cloud links no other
// cloud's SDK, for every example function and the local build, beyond what
// gocloud itself shares between its drivers (gocloudShared).
func TestBinaryIsolation(t *testing.T) {
	mains := []string{"./cmd/users", "./cmd/thumbnails", "./cmd/orders"}
	shared := gocloudShared(t)
	for _, target := range []string{"local", "aws", "gcp", "azure"} {
		t.Run(target, func(t *testing.T) {
			args := []string{"list", "-deps"}
			if target != "local" {
				args = append(args, "-tags", target)
			}
			out, err := goTool(t, append(args, mains...)...)
			if err != nil {
				t.Fatal(err)
			}
			for _, dep := range strings.Fields(out) {
				if notCloudSDK[dep] || shared[dep] {
					continue
				}
				for cloud, prefixes := range cloudSDKs {
					if cloud == target {
						continue
					}
					for _, p := range prefixes {
						if strings.HasPrefix(dep, p) {
							t.Errorf("the %s build links %s, a %s SDK package", target, dep, cloud)
						}
					}
				}
			}
		})
	}
}

// TestBuildTags proves two cloud tags at once fail to compile with a
// message that names the mistake. That each tag alone compiles is proved
// by scripts/test, which vets the module under every tag (type-checking
// every package, tests included), and by the end-to-end tests, which build
// and run the example functions for every cloud: building the whole module
// three times more here added minutes to the suite and proved nothing
// more.
func TestBuildTags(t *testing.T) {
	for _, tags := range []string{"aws,gcp", "gcp,azure", "aws,azure"} {
		_, err := goTool(t, "build", "-tags", tags, "./cmd/launch")
		if err == nil {
			t.Errorf("build with -tags %s succeeded, want a failure", tags)
			continue
		}
		if !strings.Contains(err.Error(), "polyfn_build_tags_aws_gcp_azure_are_mutually_exclusive_use_exactly_one redeclared") {
			t.Errorf("build with -tags %s failed without the clear message:\n%v", tags, err)
		}
	}
}

// minimalModules are the modules that the minimal function
// (usermodule.Greeter: one route, no resources, no exporter) may link,
// per cloud, beyond polyfn itself: the platform's runtime SDK, the
// CloudEvents SDK's event package (the neutral event's envelope) with its
// JSON library, and the OpenTelemetry API and metric SDK behind the
// built-in metrics. A new module here is a cost every function pays on
// every cold start: docs/performance.md accounts for each, and this list
// changes only with it.
var minimalModules = map[string][]string{
	"aws": {
		"github.com/aws/aws-lambda-go",
		// The built-in metrics, written as EMF at each invocation's end.
		"go.opentelemetry.io/otel/sdk/metric",
	},
	"gcp": {
		"github.com/GoogleCloudPlatform/functions-framework-go",
		"cloud.google.com/go/functions", // the framework's metadata package
		"go.uber.org/zap",               // the CloudEvents SDK's client, which the framework uses
		"go.uber.org/multierr",
		// protowire alone (no protobuf runtime): Firestore's protobuf
		// change events are decoded from the wire.
		"google.golang.org/protobuf",
	},
	"azure": {},
}

// minimalShared are the modules every cloud's minimal function links.
var minimalShared = []string{
	"github.com/polyfn/polyfn",
	"github.com/cloudevents/sdk-go/v2",
	"github.com/json-iterator/go", "github.com/modern-go/concurrent", "github.com/modern-go/reflect2",
	"github.com/google/uuid",
	"go.opentelemetry.io/otel", "go.opentelemetry.io/otel/metric", "go.opentelemetry.io/otel/trace",
	"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/auto/sdk",
	"github.com/go-logr/logr", "github.com/go-logr/stdr", "github.com/cespare/xxhash/v2",
	"golang.org/x/sys",
}

// TestMinimalFunctionModules builds the minimal function in a user's own
// module for each cloud and fails when it links a module outside its list:
// no OTLP exporter, gRPC or protobuf runtime, no gocloud.dev, nothing of
// the local runtime.
func TestMinimalFunctionModules(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a user's module for three clouds; skipped with -short")
	}
	m := usermodule.New(t, usermodule.Greeter)
	for cloud, own := range minimalModules {
		t.Run(cloud, func(t *testing.T) {
			allowed := map[string]bool{}
			for _, mod := range append(slices.Clone(minimalShared), own...) {
				allowed[mod] = true
			}
			tags := cloud
			if cloud == "aws" {
				tags += ",lambda.norpc"
			}
			mods, err := m.Modules("./cmd/greeter", tags)
			if err != nil {
				t.Fatal(err)
			}
			for _, mod := range mods {
				if !allowed[mod] {
					t.Errorf("the minimal -tags %s function links %s, which it does not use: keep it behind its own import (or account for it in docs/performance.md and minimalModules)", tags, mod)
				}
			}
		})
	}
}

// TestREADMEFunction type-checks the README's function and its main, as
// they stand in the README, in a user's own module, for every target: the
// first thing a new user copies compiles.
func TestREADMEFunction(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks a user's module for four targets; skipped with -short")
	}
	readme, err := os.ReadFile(filepath.Join(emulators.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## A function\n")
	if !ok {
		t.Fatal(`README.md has no "## A function" section`)
	}
	var blocks []string
	for rest := section; len(blocks) < 2; {
		_, after, ok := strings.Cut(rest, "```go\n")
		if !ok {
			t.Fatalf("README.md's function section has %d Go blocks, want the function and its main", len(blocks))
		}
		block, tail, _ := strings.Cut(after, "```")
		blocks, rest = append(blocks, block), tail
	}
	m := usermodule.New(t, map[string]string{
		"greeter/greeter.go":  blocks[0],
		"cmd/greeter/main.go": "package main\n\n" + blocks[1],
	})
	for _, tags := range []string{"", "aws", "gcp", "azure"} {
		if _, err := m.Go("vet", "-tags", tags, "./..."); err != nil {
			t.Errorf("the README's function, -tags %q: %v", tags, err)
		}
	}
}

// TestMiddlewareStoresApart proves that the middleware whose default store
// is in memory links no store client: the Redis and docstore stores of rate
// limits and idempotency keys are packages of their own, which only a
// function that uses them links.
func TestMiddlewareStoresApart(t *testing.T) {
	clients := []string{"github.com/redis/", "github.com/go-redis/", "gocloud.dev/docstore"}
	for _, pkg := range []string{module + "/middleware/ratelimit", module + "/middleware/idempotency"} {
		out, err := goTool(t, "list", "-deps", pkg)
		if err != nil {
			t.Fatal(err)
		}
		for _, dep := range strings.Fields(out) {
			for _, c := range clients {
				if strings.HasPrefix(dep, c) {
					t.Errorf("%s links %s: a store's client belongs in the store's own package", pkg, dep)
				}
			}
		}
	}
}

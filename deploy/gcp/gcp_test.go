package gcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/deploy/gcp"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stubBin.dir != "" {
		_ = os.RemoveAll(stubBin.dir)
	}
	os.Exit(code)
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// cases are the example functions and the kitchen sink.
var cases = []struct {
	name string
	app  func() *core.App
}{
	{"users", users.New},
	{"thumbnails", thumbnails.New},
	{"orders", orders.New},
	{deploytest.KitchenSinkName, kitchenSink},
}

// kitchenSink is the kitchen sink as Google Cloud can deploy it.
func kitchenSink() *core.App { return deploytest.KitchenSinkFor(deploy.GCP) }

func render(t *testing.T, app *core.App) (*deploy.Plan, *gcp.Deployment, map[string][]byte) {
	t.Helper()
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gcp.New(p, gcp.Options{Runtime: "go126"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := d.Files(gcp.About{Name: app.Name(), Pkg: "./cmd/" + app.Name(), HostPath: "github.com/polyfn/polyfn"})
	if err != nil {
		t.Fatal(err)
	}
	return p, d, files
}

// checkFile compares got with the file at path, or rewrites it under
// -update.
func checkFile(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-golden +got); run go test -update and review:\n%s", path, diff)
	}
}

// needTool returns the path of a tool, skipping the test without it, or
// failing under CI=true.
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed under CI=true: %s", name, install)
		}
		t.Skipf("%s not found (%s); skipped", name, install)
	}
	return p
}

// TestShellcheck lints every generated deploy.sh.
func TestShellcheck(t *testing.T) {
	shellcheck := needTool(t, "shellcheck", "apt-get install shellcheck, or run scripts/test")
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, _, files := render(t, tt.app())
			p := filepath.Join(t.TempDir(), "deploy.sh")
			if err := os.WriteFile(p, files["deploy.sh"], 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", p).CombinedOutput(); err != nil {
				t.Errorf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

// testEnv is a value for every variable a deployment requires.
func testEnv(d *gcp.Deployment) map[string]string {
	env := map[string]string{}
	for _, v := range d.Vars {
		val := strings.ToLower(strings.ReplaceAll(v.Name, "_", "-"))
		switch {
		case v.Name == "PROJECT":
			val = "demo-project"
		case v.Name == "REGION":
			val = "europe-west1"
		case v.Name == "FIRESTORE_LOCATION":
			val = "eur3"
		case v.Name == "SLACK_AUTH_TOKEN":
			val = "xoxb-test-token"
		case strings.HasSuffix(v.Name, "_NAME_FIELD"):
			val = "id"
		case strings.HasSuffix(v.Name, "_KEY"):
			val = "projects/demo-project/locations/europe-west1/keyRings/ring/cryptoKeys/" + val
		}
		env[v.Name] = val
	}
	return env
}

// runScript runs deploy.sh in dir with the stub gcloud and env, and
// returns the commands the stub was given.
func runScript(t *testing.T, dir, state string, env map[string]string) [][]string {
	t.Helper()
	bin := stubDir(t)
	log := filepath.Join(state, "log.jsonl")
	_ = os.Remove(log)
	cmd := exec.Command("bash", filepath.Join(dir, "deploy.sh"))
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), stubEnv + "=" + state, "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("deploy.sh: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var args []string
		if err := json.Unmarshal([]byte(line), &args); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, args)
	}
	return cmds
}

// stubBin is the directory of the stub gcloud, built once.
var stubBin struct {
	sync.Once
	dir string
	err error
}

// stubDir builds internal/gcloudstub as gcloud and returns its
// directory.
func stubDir(t *testing.T) string {
	t.Helper()
	stubBin.Do(func() {
		stubBin.dir, stubBin.err = os.MkdirTemp("", "gcloudstub")
		if stubBin.err == nil {
			out, err := exec.Command("go", "build", "-o", filepath.Join(stubBin.dir, "gcloud"), "./internal/gcloudstub").CombinedOutput()
			if err != nil {
				stubBin.err = fmt.Errorf("building the stub gcloud: %v\n%s", err, out)
			}
		}
	})
	if stubBin.err != nil {
		t.Fatal(stubBin.err)
	}
	return stubBin.dir
}

// stubEnv names the stub's state directory.
const stubEnv = "POLYFN_GCLOUD_STUB"

// writeBundle writes files to a new directory.
func writeBundle(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestScriptIdempotent runs each deploy.sh twice against the stub: the
// first run issues the golden commands (testdata/<name>.commands), the
// second creates nothing and succeeds.
func TestScriptIdempotent(t *testing.T) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p, d, files := render(t, tt.app())
			dir, state, env := writeBundle(t, files), t.TempDir(), testEnv(d)
			first := runScript(t, dir, state, env)
			var lines []string
			for _, c := range first {
				lines = append(lines, strings.Join(quoteAll(c), " "))
			}
			checkFile(t, filepath.Join("testdata", tt.name+".commands"), []byte(strings.Join(lines, "\n")+"\n"))

			second := runScript(t, dir, state, env)
			var deploys, updates int
			for _, c := range second {
				if slices.Contains(c, "update") {
					updates++
				}
				if slices.Contains(c, "create") {
					t.Errorf("second run: %q", c)
				}
				if slices.Contains(c, "deploy") {
					deploys++
				}
			}
			var queued int
			for _, u := range p.Units {
				if u.Queue != nil || u.Schedule != nil {
					queued++
				}
			}
			if updates != queued {
				t.Errorf("second run updated %d subscriptions and jobs, want %d", updates, queued)
			}
			if deploys != len(d.Functions) {
				t.Errorf("second run deployed %d functions, want %d (a redeploy of each)", deploys, len(d.Functions))
			}
		})
	}
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if strings.ContainsAny(a, " \"'") {
			out[i] = fmt.Sprintf("%q", a)
		}
	}
	return out
}

// TestMissingVariables checks that deploy.sh names every variable that is
// unset and runs no command.
func TestMissingVariables(t *testing.T) {
	_, d, files := render(t, kitchenSink())
	dir := writeBundle(t, files)
	cmd := exec.Command("bash", filepath.Join(dir, "deploy.sh"), "PROJECT=demo-project")
	cmd.Env = []string{"PATH=/nonexistent:" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("deploy.sh succeeded without its variables:\n%s", out)
	}
	named := strings.Fields(string(out))
	for _, v := range d.Vars[1:] {
		if slices.Contains(named, v.Name) == v.Optional {
			t.Errorf("the error %q: %s named %v, want %v (optional %v)", out, v.Name, !v.Optional, v.Optional, v.Optional)
		}
	}
	if strings.Contains(string(out), " PROJECT ") {
		t.Errorf("the error %q names PROJECT, given as an argument", out)
	}
}

// binding is one add-iam-policy-binding the script issued.
type binding struct{ Scope, Resource, Role string }

// scopes maps an add-iam-policy-binding command's group to the scope of
// the grant table.
var scopes = map[string]deploy.GCPScope{
	"storage buckets": deploy.GCPBucket, "pubsub topics": deploy.GCPTopic, "pubsub subscriptions": deploy.GCPSubscription,
	"secrets": deploy.GCPSecret, "kms keys": deploy.GCPKey, "projects": deploy.GCPProject,
}

// flagOf returns the value of --name in args.
func flagOf(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// TestGrantsAndEnvironment checks, on the commands each script issues,
// that every function of every unit is given each of its unit's
// variables and runs as the unit's service account, whose bindings are
// exactly deploy.GCPGrants of the unit (and Cloud Trace's agent role),
// each on the resource its variable names; and that a read-only bucket
// gets no other role than objectViewer from anyone.
func TestGrantsAndEnvironment(t *testing.T) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p, d, files := render(t, tt.app())
			env := testEnv(d)
			cmds := runScript(t, writeBundle(t, files), t.TempDir(), env)
			bindings := map[string][]binding{} // member → bindings
			for _, c := range cmds {
				i := slices.Index(c, "add-iam-policy-binding")
				if i < 0 {
					continue
				}
				member, _ := flagOf(c, "member")
				role, _ := flagOf(c, "role")
				scope, ok := scopes[strings.Join(c[:i], " ")]
				if !ok {
					continue // the service agents' bindings on the invoker account
				}
				bindings[member] = append(bindings[member], binding{string(scope), c[i+1], role})
			}
			for _, u := range p.Units {
				acct := d.Accounts[slices.IndexFunc(d.Accounts, func(a gcp.Account) bool { return a.Unit == u.Name })]
				email := acct.Email.Value(func(v string) string { return env[v] })
				var deployed int
				for _, c := range cmds {
					if len(c) < 3 || c[0] != "functions" || c[1] != "deploy" || !slices.ContainsFunc(d.Functions, func(f gcp.Function) bool { return f.Name == c[2] && f.Unit == u.Name }) {
						continue
					}
					deployed++
					if sa, _ := flagOf(c, "service-account"); sa != email {
						t.Errorf("%s runs as %s, want %s", c[2], sa, email)
					}
					vars, _ := flagOf(c, "set-env-vars")
					set := map[string]string{}
					for _, kv := range strings.Split(strings.TrimPrefix(vars, "^;^"), ";") {
						k, v, _ := strings.Cut(kv, "=")
						set[k] = v
					}
					for _, r := range u.Resources {
						if set[r.Env] == "" {
							t.Errorf("%s: %s is not set (%s)", c[2], r.Env, vars)
						}
					}
				}
				if deployed == 0 {
					t.Errorf("unit %s: no function deployed", u.Name)
				}
				grants, err := deploy.GCPGrants(u, nil)
				if err != nil {
					t.Fatal(err)
				}
				var want []binding
				for _, g := range grants {
					name := env[strings.TrimSuffix(g.Env, "_URL")]
					for _, r := range g.Grants {
						role, res := r.Role, name
						if len(r.Permissions) > 0 {
							role = "projects/demo-project/roles/" + r.Role
						}
						switch r.On {
						case deploy.GCPBucket:
							res = "gs://" + name
						case deploy.GCPProject:
							res = "demo-project"
						}
						want = append(want, binding{string(r.On), res, role})
					}
				}
				want = append(want, binding{string(deploy.GCPProject), "demo-project", "roles/cloudtrace.agent"})
				got := bindings["serviceAccount:"+email]
				sortBindings := func(b []binding) {
					slices.SortFunc(b, func(x, y binding) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
				}
				sortBindings(want)
				sortBindings(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("unit %s: bindings of %s (-want +got):\n%s", u.Name, email, diff)
				}
			}
			// A read-only bucket is only ever read.
			for _, u := range p.Units {
				for _, r := range u.Resources {
					if r.Kind != core.KindBucket || r.Use != core.Read {
						continue
					}
					bucket := "gs://" + env[strings.TrimSuffix(r.Env, "_URL")]
					for member, bs := range bindings {
						for _, b := range bs {
							if b.Resource == bucket && b.Role != "roles/storage.objectViewer" {
								t.Errorf("read-only %s: %s gets %s", r.Env, member, b.Role)
							}
						}
					}
				}
			}
		})
	}
}

// TestOptionalUnset runs the kitchen sink's deploy.sh with its optional
// resources' variables unset: it succeeds, and no function is given them
// and no one is bound on them.
func TestOptionalUnset(t *testing.T) {
	p, d, files := render(t, kitchenSink())
	env := testEnv(d)
	var unset []string
	for _, v := range d.Vars {
		if v.Optional {
			unset = append(unset, v.Name)
			delete(env, v.Name)
		}
	}
	if len(unset) == 0 {
		t.Fatal("the kitchen sink declares no optional resource")
	}
	var optionalEnv []string
	for _, u := range p.Units {
		for _, r := range u.Resources {
			if r.Optional && !r.Trigger && !slices.Contains(optionalEnv, r.Env) {
				optionalEnv = append(optionalEnv, r.Env)
			}
		}
	}
	for _, c := range runScript(t, writeBundle(t, files), t.TempDir(), env) {
		line := strings.Join(c, " ")
		for _, e := range optionalEnv {
			if strings.Contains(line, ";"+e+"=") {
				t.Errorf("%s is given though unset: %s", e, line)
			}
		}
		if slices.Contains(c, "add-iam-policy-binding") && (slices.Contains(c, "") || slices.Contains(c, "gs://")) {
			t.Errorf("a binding on an unset resource: %q", c)
		}
	}
}

// TestObjectKinds: an object trigger's function subscribes to the Cloud
// Storage events of each kind it lists, one function per event type (a
// deletion is deleted and, in a versioned bucket, archived), and a kind
// Cloud Storage has no event of is refused, naming the function and kind.
func TestObjectKinds(t *testing.T) {
	nop := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	plan := func(t *testing.T, kinds ...core.Kind) (*gcp.Deployment, error) {
		t.Helper()
		app := core.NewApp("media")
		app.On("watch", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Events: kinds}, nop)
		p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return gcp.New(p, gcp.Options{Runtime: "go126"})
	}
	d, err := plan(t, core.KindObjectUpdated, core.KindObjectDeleted)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"media-watch":          "--trigger-event-filters=type=google.cloud.storage.object.v1.metadataUpdated",
		"media-watch-deleted":  "--trigger-event-filters=type=google.cloud.storage.object.v1.deleted",
		"media-watch-archived": "--trigger-event-filters=type=google.cloud.storage.object.v1.archived",
	}
	got := map[string]string{}
	for _, f := range d.Functions {
		cmd := f.Deploy.String()
		if !strings.Contains(cmd, "--trigger-event-filters=bucket=") || !strings.Contains(cmd, "--entry-point=watch") ||
			!strings.Contains(cmd, "--retry") {
			t.Errorf("%s: %s, want the bucket's filter, the entry point watch and --retry", f.Name, cmd)
		}
		for _, flag := range strings.Fields(cmd) {
			if strings.HasPrefix(flag, "--trigger-event-filters=type=") {
				got[f.Name] = flag
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("functions and their event types (-want +got):\n%s", diff)
	}
	for _, k := range []core.Kind{core.KindObjectTiered, core.KindObjectRestored, core.KindObjectReplication} {
		_, err := plan(t, core.KindObjectCreated, k)
		if err == nil || !strings.Contains(err.Error(), "function watch") || !strings.Contains(err.Error(), string(k)) ||
			!strings.Contains(err.Error(), "Cloud Storage has no event") {
			t.Errorf("%s: %v, want a refusal naming the function watch and the kind", k, err)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"go/parser"
	gotoken "go/token"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// goldenHost stands for the module polyfn build runs in, so that go.mod is
// the same on every machine.
var goldenHost = hostModule{
	Path: "github.com/polyfn/polyfn", Dir: "/src/polyfn", GoVersion: "1.26.0",
	Mod: modFile{Require: []struct{ Path, Version string }{
		{"github.com/GoogleCloudPlatform/functions-framework-go", "v1.9.2"},
		{"gocloud.dev", "v0.47.0"},
	}},
	GoSum: []byte("go.sum of the host\n"),
}

// TestGCPBundleGolden compares everything polyfn build --cloud gcp
// writes for the examples and the kitchen sink with testdata/gcp/<name>/:
// the bundle, deploy.sh, DEPLOY.md and the alert policies.
func TestGCPBundleGolden(t *testing.T) {
	kitchenCall := launchCall{Args: []string{`deploytest.KitchenSinkFor("gcp")`},
		Imports: []goImport{{"deploytest", "github.com/polyfn/polyfn/deploy/deploytest"}}}
	tests := []struct {
		name, pkg string
		m         core.Manifest
	}{
		{"users", "./../users", users.New().Manifest()},
		{"thumbnails", "./../thumbnails", thumbnails.New().Manifest()},
		{"orders", "./../orders", orders.New().Manifest()},
		{deploytest.KitchenSinkName, "", deploytest.KitchenSinkFor("gcp").Manifest()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, drivers := kitchenCall, []string{"gocloud.dev/blob/gcsblob", "gocloud.dev/pubsub/gcppubsub"}
			if tt.pkg != "" {
				var err error
				if call, err = readLaunchCall(t.Context(), tt.pkg); err != nil {
					t.Fatal(err)
				}
				if drivers, err = linkedDrivers(t.Context(), tt.pkg); err != nil {
					t.Fatal(err)
				}
			}
			files, _, err := gcpFiles("./cmd/"+tt.name, tt.name, []core.Manifest{tt.m}, call, drivers, goldenHost, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(files["go.sum"], goldenHost.GoSum) {
				t.Errorf("go.sum is not the host's")
			}
			delete(files, "go.sum")
			dir := filepath.Join("testdata", "gcp", tt.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for name, content := range files {
					p := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, content, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[string]string{}
			err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				want[filepath.ToSlash(rel)] = string(b)
				return err
			})
			if err != nil {
				t.Fatalf("%v (run go test -run TestGCPBundleGolden -update)", err)
			}
			got := map[string]string{}
			for name, content := range files {
				got[name] = string(content)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("bundle (-golden +got); run go test -run TestGCPBundleGolden -update and review:\n%s", diff)
			}
		})
	}
}

func TestLaunchCallsIn(t *testing.T) {
	tests := []struct {
		name, src string
		want      []launchCall
		err       string
	}{
		{"the example form", `package main
import ("github.com/polyfn/polyfn/cmd/launch"; "github.com/polyfn/polyfn/functions/users")
func main() { launch.Start(users.New()) }`,
			[]launchCall{{Args: []string{"users.New()"}, Imports: []goImport{{"users", "github.com/polyfn/polyfn/functions/users"}}}}, ""},
		{"renamed imports, several apps, options", `package main
import (l "github.com/polyfn/polyfn/cmd/launch"; "example.com/shop/v2"; api "example.com/api-server")
func main() { l.Start(shop.New(&shop.Options{Strict: true, Name: "x"}), api.New(nil)) }`,
			[]launchCall{{Args: []string{`shop.New(&shop.Options{Strict: true, Name: "x"})`, "api.New(nil)"},
				Imports: []goImport{{"api", "example.com/api-server"}, {"shop", "example.com/shop/v2"}}}}, ""},
		{"an app declared in main", `package main
import "github.com/polyfn/polyfn/cmd/launch"
func main() { app := newApp(); launch.Start(app) }`, nil, "uses app, which is declared in package main"},
		{"a method of a local value", `package main
import ("github.com/polyfn/polyfn/cmd/launch"; "example.com/x")
var cfg x.Config
func main() { launch.Start(x.New(cfg.Name())) }`, nil, "uses cfg"},
		{"no launch import", `package main
func main() {}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := gotoken.NewFileSet()
			f, err := parser.ParseFile(fset, "main.go", tt.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			got, err := launchCallsIn(fset, f)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGCPRejects checks that what Cloud Run functions cannot take fails
// the build with an error naming the unit, never a panic.
func TestGCPRejects(t *testing.T) {
	nop := core.HandlerFunc(nil)
	long := core.NewApp("long")
	long.On(strings.Repeat("x", 55), core.ObjectTrigger{Bucket: "B_URL", Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, nop)
	odd := core.NewApp("odd")
	odd.On("tick", core.TimerTrigger{Schedule: "@every 7m"}, nop)
	seconds := core.NewApp("seconds")
	seconds.On("tick", core.TimerTrigger{Schedule: "30 * * * * *"}, nop)
	slow := core.NewApp("slow")
	slow.On("work", core.MessageTrigger{Subscription: "WORK_SUBSCRIPTION_URL"}, nop)
	slow.SizeFunc("work", core.Sizing{Timeout: 10 * time.Minute})
	tiered := core.NewApp("tiered")
	tiered.On("archive", core.ObjectTrigger{Bucket: "B_URL", Events: []core.Kind{core.KindObjectCreated, core.KindObjectTiered}}, nop)
	for _, tt := range []struct {
		m    core.Manifest
		want string
	}{
		{long.Manifest(), "longer than"},
		{odd.Manifest(), "unit odd-tick: schedule \"@every 7m\": Cloud Scheduler repeats only"},
		{seconds.Manifest(), "unit seconds-tick: schedule \"30 * * * * *\": Cloud Scheduler fires at minute precision"},
		{slow.Manifest(), "unit slow-work: timeout 600s is above Cloud Run functions' 540s"},
		{core.NewApp("empty").Manifest(), "no route and no event function"},
		{tiered.Manifest(), "unit tiered-archive: function archive: Cloud Storage has no event of kind object_tiered"},
	} {
		if _, _, err := gcpFiles("./cmd/x", "x", []core.Manifest{tt.m}, launchCall{}, nil, goldenHost, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.m.App, err, tt.want)
		}
	}
}

// TestBuildGCPServes runs `polyfn build --cloud gcp` on the users function,
// builds the bundle with go build, and serves it with the bundle's own
// cmd/main.go under the Functions Framework.
func TestBuildGCPServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a bundle; skipped with -short")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"build", "--cloud", "gcp", "--out", out, "./../users"}, &stdout, &stderr); code != 0 {
		t.Fatalf("polyfn build exited %d: %s", code, stderr.String())
	}
	dir := filepath.Join(out, "gcp", "users")
	if !strings.Contains(stdout.String(), "entry points: users") {
		t.Errorf("stdout %q does not name the entry point", stdout.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "alerts", "users-errors.json")); err != nil || !json.Valid(b) {
		t.Errorf("alerts/users-errors.json: %v, want the alert policy in the bundle", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "deploy.sh")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("deploy.sh: %v, want an executable script", err)
	}
	bin := filepath.Join(t.TempDir(), "server")
	for _, args := range [][]string{{"vet", "./..."}, {"build", "./..."}, {"build", "-o", bin, "./cmd"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the bundle: %v\n%s", strings.Join(args, " "), err, b)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	iss := authtest.NewIssuer(t)
	srv := exec.Command(bin)
	srv.Env = append(os.Environ(), "FUNCTION_TARGET=users", "POLYFN_ADDR="+addr,
		"USERS_BUCKET_URL=file://"+t.TempDir()+"?no_tmp_dir=true",
		"USERS_OIDC_ISSUER="+iss.URL, "USERS_OIDC_AUDIENCE="+authtest.Audience)
	var logs bytes.Buffer
	srv.Stderr = &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer func() {
		_ = srv.Process.Kill()
		<-done
	}()
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/users", strings.NewReader(`{"name":"Ada","email":"ada@example.com"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", iss.Bearer(t, "ada", "users:write"))
		resp, err = http.DefaultClient.Do(req)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the bundle does not serve: %v\n%s", err, logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /users = %d, want 201\n%s", resp.StatusCode, logs.String())
	}
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("still running 10s after SIGTERM")
	}
}

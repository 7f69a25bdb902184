package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/polyfn/polyfn/internal/usermodule"
)

// readmeGreeter is the README's function as a user writes it in a module
// of their own: a route, an upload handler that the bucket's uploads
// trigger, the bucket declared read-only, the handler sized, the alarms
// mailing the on-call address.
var readmeGreeter = map[string]string{
	"greeter/greeter.go": `package greeter

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/polyfn/polyfn/core"
)

func New() *core.App {
	app := core.NewApp("greeter")
	app.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", r.PathValue("name"))
	})
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/"},
		core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			slog.InfoContext(ctx, "uploaded", "key", e.Object.Key, "size", e.Object.Size)
			return nil
		}))
	app.Require(core.Bucket("MEDIA_BUCKET_URL", core.Read))
	app.SizeFunc("on-upload", core.Sizing{MemoryMiB: 512, Timeout: time.Minute})
	app.Alarms(core.Alarms{Notify: []core.Channel{core.EmailChannel("oncall@example.com")}})
	return app
}
`,
	"cmd/greeter/main.go": `package main

import (
	"github.com/polyfn/polyfn/cmd/launch"
	_ "github.com/polyfn/polyfn/providers/blob"

	"` + usermodule.Path + `/greeter"
)

func main() { launch.Start(greeter.New()) }
`,
}

// polyfnBinary builds this command once for the tests that run it as a
// user does, in a directory of their own.
var polyfnBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "polyfn-cli-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "polyfn")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", &exec.Error{Name: "go build ./cmd/polyfn: " + string(out), Err: err}
	}
	return bin, nil
})

// TestBuildInUsersModule runs polyfn build, as a user does, in a module of
// the user's own that imports polyfn: the plan shows the function's two
// units with the declared sizing and use, and each cloud's build writes
// artifacts that carry both units and the bucket's variable, and grant the
// read-only bucket its reader's rights and nothing that writes.
func TestBuildInUsersModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a user's module for every cloud; skipped with -short")
	}
	bin, err := polyfnBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := usermodule.New(t, readmeGreeter)
	polyfn := func(t *testing.T, args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Dir = mod.Dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("polyfn %s in a user's module: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	t.Run("plan", func(t *testing.T) {
		var plan struct {
			Units []struct {
				Name      string
				Sizing    struct{ MemoryMiB, TimeoutSeconds int }
				Resources []struct{ Env, Use string }
				Alarms    *struct{ Notify []string }
			}
		}
		if err := json.Unmarshal([]byte(polyfn(t, "build", "--plan", "./cmd/greeter")), &plan); err != nil {
			t.Fatal(err)
		}
		if len(plan.Units) != 2 || plan.Units[0].Name != "greeter" || plan.Units[1].Name != "greeter-on-upload" {
			t.Fatalf("units %+v, want greeter and greeter-on-upload", plan.Units)
		}
		up := plan.Units[1]
		if up.Sizing.MemoryMiB != 512 || up.Sizing.TimeoutSeconds != 60 {
			t.Errorf("on-upload's sizing %+v, want 512 MiB and 60 s", up.Sizing)
		}
		for _, u := range plan.Units {
			if len(u.Resources) != 1 || u.Resources[0].Env != "MEDIA_BUCKET_URL" || u.Resources[0].Use != "read" {
				t.Errorf("%s's resources %+v, want MEDIA_BUCKET_URL read", u.Name, u.Resources)
			}
			if u.Alarms == nil || len(u.Alarms.Notify) != 1 {
				t.Errorf("%s's alarms %+v, want one channel", u.Name, u.Alarms)
			}
		}
	})
	// What each cloud's artifacts must and must not hold for a bucket read
	// and never written (deploy's grant tables).
	grants := map[string]struct{ want, never []string }{
		"aws": {[]string{"POLYFN_UNIT: greeter-on-upload", "s3:GetObject"}, []string{"s3:PutObject", "s3:DeleteObject", "S3CrudPolicy"}},
		"gcp": {[]string{"roles/storage.objectViewer"}, []string{"roles/storage.objectUser", "roles/storage.objectCreator", "roles/storage.objectAdmin"}},
		"azure": {[]string{"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"}, // Storage Blob Data Reader
			[]string{"ba92f5b4-2d11-453d-a403-e96b0029c9fe", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"}}, // Contributor, Owner
	}
	for _, cloud := range []string{"aws", "gcp", "azure"} {
		t.Run(cloud, func(t *testing.T) {
			out := t.TempDir()
			polyfn(t, "build", "--cloud", cloud, "--out", out, "./cmd/greeter")
			var text strings.Builder
			err := filepath.WalkDir(filepath.Join(out, cloud), func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				text.WriteString(path + "\n") // a function's folder is named after it on Azure
				if d.IsDir() {
					return nil
				}
				if ext := filepath.Ext(path); ext == ".zip" || d.Name() == "bootstrap" || d.Name() == "handler" {
					return nil // binaries
				}
				b, err := os.ReadFile(path)
				text.Write(b)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range append([]string{"on-upload", "MEDIA_BUCKET_URL", "hello"}, grants[cloud].want...) {
				if !strings.Contains(text.String(), want) {
					t.Errorf("the %s artifacts do not mention %s", cloud, want)
				}
			}
			for _, never := range grants[cloud].never {
				if strings.Contains(text.String(), never) {
					t.Errorf("the %s artifacts grant %s on a bucket the function only reads", cloud, never)
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// azureKitchenSink declares every route form and trigger the function app
// handles.
func azureKitchenSink() core.Manifest {
	app := core.NewApp("kitchen-sink")
	nop := core.HandlerFunc(nil)
	app.Require(core.Bucket("ARCHIVE_BUCKET_URL"))
	for _, p := range []string{"GET /items/{id}", "POST /items", "/files/{path...}", "GET /static/", "PUT /exact/{$}"} {
		app.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	app.On("ingest", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "in/", Suffix: ".csv",
		Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, nop)
	app.On("on-photo", core.ObjectTrigger{Bucket: "PHOTOS_BUCKET_URL", Prefix: "raw/", Suffix: ".jpg"}, nop)
	app.On("on-job", core.MessageTrigger{Subscription: "JOBS_SUBSCRIPTION_URL", MaxDeliveries: 3}, nop)
	app.On("on-event", core.MessageTrigger{Subscription: "EVENTS_SUBSCRIPTION_URL", Ordered: true}, nop)
	app.On("on-command", core.MessageTrigger{Subscription: "COMMANDS_SUBSCRIPTION_URL"}, nop)
	app.On("on-item", core.ChangeTrigger{Source: "ITEMS_CONTAINER"}, nop)
	app.On("nightly", core.TimerTrigger{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"}, nop)
	app.On("often", core.TimerTrigger{Schedule: "@every 15m"}, nop)
	return app.Manifest()
}

// azureBuildEnv is the build environment of the golden tests.
var azureBuildEnv = map[string]string{
	"PHOTOS_BUCKET_URL":         "azblob://photos-prod?protocol=https",
	"EVENTS_SUBSCRIPTION_URL":   "azuresb://events?subscription=polyfn",
	"COMMANDS_SUBSCRIPTION_URL": "azuresb://commands",
	"ITEMS_CONTAINER":           "cosmos://shop/items",
	"ARCHIVE_BUCKET_URL":        "azblob://archive",
}

func azureLookup(k string) (string, bool) {
	v, ok := azureBuildEnv[k]
	return v, ok
}

// TestAzureFunctionAppGolden checks every generated file of the example
// functions and the kitchen sink against testdata/azure/<app>/; run with
// -update to rewrite them, and review the diff.
func TestAzureFunctionAppGolden(t *testing.T) {
	for _, m := range []core.Manifest{users.New().Manifest(), thumbnails.New().Manifest(), orders.New().Manifest(), azureKitchenSink()} {
		t.Run(m.App, func(t *testing.T) {
			files, _, err := azureFunctionApp([]core.Manifest{m}, azureLookup)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "azure", m.App)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := writeAzureFiles(dir, files); err != nil {
					t.Fatal(err)
				}
			}
			got := t.TempDir()
			if err := writeAzureFiles(got, files); err != nil {
				t.Fatal(err)
			}
			want, have := readTree(t, dir), readTree(t, got)
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("files (-golden +generated); run go test -run TestAzureFunctionAppGolden -update to rewrite:\n%s", diff)
			}
		})
	}
}

// readTree returns the files under dir by slash-separated relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("reading %s (run with -update to write the golden files): %v", dir, err)
	}
	return out
}

// TestAzureHostMode checks the one setting that differs by app: only an
// HTTP-only app has the host proxy its requests.
func TestAzureHostMode(t *testing.T) {
	for _, tt := range []struct {
		m         core.Manifest
		wantProxy bool
	}{{users.New().Manifest(), true}, {orders.New().Manifest(), false}, {azureKitchenSink(), false}} {
		files, _, err := azureFunctionApp([]core.Manifest{tt.m}, azureLookup)
		if err != nil {
			t.Fatal(err)
		}
		h := files["host.json"].(azureHostJSON)
		if h.CustomHandler.EnableProxyingHTTPRequest != tt.wantProxy || h.CustomHandler.EnableForwardingHTTPRequest {
			t.Errorf("%s: proxying %v forwarding %v, want proxying %v and no forwarding", tt.m.App,
				h.CustomHandler.EnableProxyingHTTPRequest, h.CustomHandler.EnableForwardingHTTPRequest, tt.wantProxy)
		}
	}
}

func TestAzureRoute(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/users", "users"},
		{"/users/{id}", "users/{id}"},
		{"/files/{path...}", "files/{*path}"},
		{"/static/", "static/{*rest}"},
		{"/", "{*rest}"},
		{"/exact/{$}", "exact"},
		{"/a/{b}/c/{d...}", "a/{b}/c/{*d}"},
	}
	for _, tt := range tests {
		if got, err := azureRoute(tt.path); err != nil || got != tt.want {
			t.Errorf("azureRoute(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	if _, err := azureRoute("/{$}"); err == nil {
		t.Error("azureRoute(/{$}) succeeded; an empty route names the function instead")
	}
}

func TestNCRONTAB(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*/5 * * * *", "0 */5 * * * *"},
		{"0 3 * * 1-5", "0 0 3 * * 1-5"},
		{"30 */5 * * * *", "30 */5 * * * *"},
		{"@hourly", "0 0 * * * *"},
		{"@daily", "0 0 0 * * *"},
		{"@weekly", "0 0 0 * * 0"},
		{"@every 10s", "*/10 * * * * *"},
		{"@every 15m", "0 */15 * * * *"},
		{"@every 6h", "0 0 */6 * * *"},
	}
	for _, tt := range tests {
		if got, err := ncrontab(tt.in); err != nil || got != tt.want {
			t.Errorf("ncrontab(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"@every 7m", "@every 90m", "@every 5d", "* * *", "@reboot"} {
		if got, err := ncrontab(in); err == nil {
			t.Errorf("ncrontab(%q) = %q, want an error", in, got)
		}
	}
}

func TestAzureFunctionAppErrors(t *testing.T) {
	nop := core.HandlerFunc(nil)
	tests := []struct {
		name string
		app  func(*core.App)
		env  map[string]string
		want string
	}{
		{"nothing to deploy", func(*core.App) {}, nil, "no HTTP route and no event function"},
		{"custom method", func(a *core.App) { a.HandleFunc("PURGE /cache", func(http.ResponseWriter, *http.Request) {}) }, nil, "routes only the methods"},
		{"bucket of another cloud", func(a *core.App) { a.On("f", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"}, nop) },
			map[string]string{"MEDIA_BUCKET_URL": "s3://media"}, "want azblob://"},
		{"invalid container name", func(a *core.App) { a.On("f", core.ObjectTrigger{Bucket: "M_BUCKET_URL"}, nop) }, nil, "not a valid container"},
		{"different dequeue counts", func(a *core.App) {
			a.On("f", core.MessageTrigger{Subscription: "ONE_SUBSCRIPTION_URL", MaxDeliveries: 2}, nop)
			a.On("g", core.MessageTrigger{Subscription: "TWO_SUBSCRIPTION_URL", MaxDeliveries: 3}, nop)
		}, nil, "maxDequeueCount"},
		{"different time zones", func(a *core.App) {
			a.On("f", core.TimerTrigger{Schedule: "@daily", TimeZone: "Europe/Paris"}, nop)
			a.On("g", core.TimerTrigger{Schedule: "@daily", TimeZone: "Asia/Tokyo"}, nop)
		}, nil, "WEBSITE_TIME_ZONE"},
		{"malformed cosmos source", func(a *core.App) { a.On("f", core.ChangeTrigger{Source: "ITEMS_CONTAINER"}, nop) },
			map[string]string{"ITEMS_CONTAINER": "items"}, "want <database>/<container>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := core.NewApp("bad")
			tt.app(app)
			_, _, err := azureFunctionApp([]core.Manifest{app.Manifest()}, func(k string) (string, bool) {
				v, ok := tt.env[k]
				return v, ok
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestBuildAzureServes builds the users function with polyfn build and runs
// the executable it packaged as the host would, with the host.json it wrote
// in its folder: the HTTP-only app serves proxied requests.
func TestBuildAzureServes(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the users function; skipped with -short")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"build", "--cloud", "azure", "--out", out, "../users"}, &stdout, &stderr); code != 0 {
		t.Fatalf("polyfn build: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	dir := filepath.Join(out, "azure", "users")
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"get-users-id", "handler", "host.json", "local.settings.json", "post-users"}
	if !slices.Equal(names, want) {
		t.Fatalf("dist/azure/users has %v, want %v", names, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "handler")); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("handler is not an executable: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "azure", "users.alerts.json")); err != nil || !json.Valid(b) {
		t.Errorf("dist/azure/users.alerts.json: %v, want the alert template beside the folder", err)
	}
	if !strings.Contains(stdout.String(), "az deployment group create") {
		t.Errorf("stdout %q does not give the alerts' deploy command", stdout.String())
	}
	iss := authtest.NewIssuer(t)
	host := azurefunctionstest.Start(t, filepath.Join(dir, "handler"), &azurefunctionstest.Options{
		Dir: dir, Env: []string{"USERS_BUCKET_URL=file://" + filepath.ToSlash(t.TempDir()) + "?create_dir=true&no_tmp_dir=true",
			"USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience},
	})
	req, _ := http.NewRequest("POST", "http://users.example/users", strings.NewReader(`{"name":"Ada","email":"ada@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", iss.Bearer(t, "ada", "users:write"))
	resp, err := host.Proxy(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var u struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &u) != nil || u.ID == "" {
		t.Errorf("POST /users = %d %s\noutput:\n%s", resp.StatusCode, b, host.Output())
	}
}

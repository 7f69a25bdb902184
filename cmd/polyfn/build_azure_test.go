package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// TestAzureBindingNames checks that every binding the renderer writes
// has the name the adapter looks for first for its type (package deploy
// may not import the adapter, so the names are written twice).
func TestAzureBindingNames(t *testing.T) {
	want := map[string]string{
		"httpTrigger": azurefunctions.BindingRequest, "http": azurefunctions.BindingResponse,
		"blobTrigger": azurefunctions.BindingBlob, "eventGridTrigger": azurefunctions.BindingEvent,
		"queueTrigger": azurefunctions.BindingMessage, "serviceBusTrigger": azurefunctions.BindingMessage,
		"cosmosDBTrigger": azurefunctions.BindingDocuments, "timerTrigger": azurefunctions.BindingTimer,
		"eventHubTrigger": azurefunctions.BindingRecords,
	}
	app, err := azureFunctionApp([]core.Manifest{deploytest.KitchenSink().Manifest()}, deploytest.KitchenSinkName, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for fn, fj := range app.Functions {
		for _, b := range fj.Bindings {
			seen[b.Type] = true
			if w, ok := want[b.Type]; !ok || b.Name != w {
				t.Errorf("function %s: binding %s named %q, want %q", fn, b.Type, b.Name, w)
			}
		}
	}
	for _, typ := range []string{"httpTrigger", "http", "serviceBusTrigger", "cosmosDBTrigger", "timerTrigger"} {
		if !seen[typ] {
			t.Errorf("the kitchen sink has no %s binding", typ)
		}
	}
}

// TestBuildAzureServes builds the users function with polyfn build and runs
// the executable it packaged as the host would, with the host.json it wrote
// in its folder: the HTTP-only app serves proxied requests. The zip holds
// the folder, the handler executable, and the template beside it is the
// renderer's.
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
	want := []string{"get-users-id", "handler", "host.json", "post-users"}
	if !slices.Equal(names, want) {
		t.Fatalf("dist/azure/users has %v, want %v", names, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "handler")); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("handler is not an executable: %v", err)
	}

	zr, err := zip.OpenReader(filepath.Join(out, "azure", "users.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var zipped []string
	for _, f := range zr.File {
		zipped = append(zipped, f.Name)
		if f.Name == "handler" && f.Mode()&0o111 == 0 {
			t.Errorf("users.zip: handler has mode %v, want it executable", f.Mode())
		}
	}
	if w := []string{"get-users-id/function.json", "handler", "host.json", "post-users/function.json"}; !slices.Equal(zipped, w) {
		t.Errorf("users.zip holds %v, want %v", zipped, w)
	}

	users, err := describe(t.Context(), "../users")
	if err != nil {
		t.Fatal(err)
	}
	app, err := azureFunctionApp(users, "users", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantTmpl, _ := json.MarshalIndent(app.Template, "", "  ")
	gotTmpl, err := os.ReadFile(filepath.Join(out, "azure", "users.azuredeploy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantTmpl)+"\n", string(gotTmpl)); diff != "" {
		t.Errorf("users.azuredeploy.json (-rendered +written):\n%s", diff)
	}
	for _, s := range []string{"az deployment group create", "--parameters storageAccountName=<storageAccountName> usersOidcAudience=<usersOidcAudience> usersOidcIssuer=<usersOidcIssuer>",
		"az functionapp deployment source config-zip"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("stdout %q does not say %q", stdout.String(), s)
		}
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

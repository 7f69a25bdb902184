package azurefunctions_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
)

const userID = "7f9c24e5-2b1a-4c3e-9d8f-0a1b2c3d4e5f"

// whoami is what the protected route answers: the principal it was given.
type whoami struct {
	Subject string
	Scopes  []string
	Roles   []string
	Claims  map[string]any
	ID      string
}

// gatewayApp is an app whose one route trusts the gateway's identity
// (auth.Gateway) and requires the scope users:read.
func gatewayApp() *core.App {
	app := core.NewApp("gateway")
	protect := auth.Middleware(nil, auth.Gateway{})
	app.Handle("GET /users/{id}", protect(auth.RequireScopes("users:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(whoami{Subject: p.Subject, Scopes: p.Scopes, Roles: p.Roles, Claims: p.Claims, ID: r.PathValue("id")})
	}))))
	return app
}

// startGateway serves gatewayApp with App Service authentication on or off
// (WEBSITE_AUTH_ENABLED, read by New).
func startGateway(t *testing.T, easyAuth bool) (*azurefunctionstest.Host, string) {
	t.Helper()
	if easyAuth {
		t.Setenv("WEBSITE_AUTH_ENABLED", "True") // as App Service writes it
	} else {
		t.Setenv("WEBSITE_AUTH_ENABLED", "")
	}
	h, err := azurefunctions.New([]*core.App{gatewayApp()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return azurefunctionstest.Attach(srv.URL, ""), srv.URL
}

// principalHeader is X-MS-CLIENT-PRINCIPAL for the documented principal in
// testdata, with edit applied to it first.
func principalHeader(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "easyauth-principal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(p)
	}
	b, _ = json.Marshal(p)
	return base64.StdEncoding.EncodeToString(b)
}

// ada is the principal the testdata's identity maps to.
var ada = whoami{
	Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
	Scopes:  []string{"users:read"},
	Roles:   []string{"Users.Admin", "Users.Auditor"},
	ID:      userID,
}

// TestEasyAuthDefaultMode sends default-mode invocations of the protected
// route: the identity of App Service authentication (its header, or the
// host's Identities) is trusted only when WEBSITE_AUTH_ENABLED says it runs.
func TestEasyAuthDefaultMode(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		easyAuth   bool
		wantStatus int
	}{
		{"principal header", "http-easyauth.json", true, http.StatusOK},
		{"host identities", "http-easyauth-identities.json", true, http.StatusOK},
		{"anonymous request", "http-anonymous.json", true, http.StatusUnauthorized},
		{"principal header, authentication off", "http-easyauth.json", false, http.StatusUnauthorized},
		{"host identities, authentication off", "http-easyauth-identities.json", false, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, _ := startGateway(t, tt.easyAuth)
			body, err := os.ReadFile(filepath.Join("testdata", "invocations", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := host.Send(t.Context(), "get-users-id", body, "")
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("Send: %v, %+v", err, res)
			}
			out, err := res.HTTPOutput(azurefunctions.BindingResponse)
			if err != nil {
				t.Fatal(err)
			}
			checkWhoami(t, out.StatusCode, out.Header, out.Body, tt.wantStatus)
		})
	}
}

// TestEasyAuthHTTPModes sends forwarded and proxied requests, whose
// X-MS-CLIENT-PRINCIPAL header arrives as App Service set it.
func TestEasyAuthHTTPModes(t *testing.T) {
	noScope := principalHeader(t, func(p map[string]any) {
		var kept []any
		for _, c := range p["claims"].([]any) {
			if c.(map[string]any)["typ"] != "http://schemas.microsoft.com/identity/claims/scope" {
				kept = append(kept, c)
			}
		}
		p["claims"] = kept
	})
	tests := []struct {
		name       string
		easyAuth   bool
		header     map[string]string
		wantStatus int
	}{
		{"forwarded", true, map[string]string{"X-Azure-Functions-InvocationId": "inv-1", "X-MS-CLIENT-PRINCIPAL": principalHeader(t, nil)}, http.StatusOK},
		{"proxied", true, map[string]string{"x-ms-invocation-id": "inv-2", "x-ms-client-principal": principalHeader(t, nil)}, http.StatusOK},
		{"without the scope", true, map[string]string{"x-ms-invocation-id": "inv-3", "X-MS-CLIENT-PRINCIPAL": noScope}, http.StatusForbidden},
		{"no principal", true, map[string]string{"x-ms-invocation-id": "inv-4"}, http.StatusUnauthorized},
		{"malformed principal", true, map[string]string{"x-ms-invocation-id": "inv-5", "X-MS-CLIENT-PRINCIPAL": "not base64 {"}, http.StatusUnauthorized},
		{"authentication off: a client's own header", false, map[string]string{"x-ms-invocation-id": "inv-6", "X-MS-CLIENT-PRINCIPAL": principalHeader(t, nil)}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startGateway(t, tt.easyAuth)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/api/users/"+userID, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			checkWhoami(t, res.StatusCode, res.Header, body, tt.wantStatus)
		})
	}
}

// checkWhoami checks an answer of the protected route: ada's principal for
// 200, otherwise a problem with a Bearer challenge.
func checkWhoami(t *testing.T, status int, header http.Header, body []byte, wantStatus int) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status: got %d %s, want %d", status, body, wantStatus)
	}
	if status != http.StatusOK {
		if header.Get("Content-Type") != "application/problem+json" || header.Get("Www-Authenticate") == "" {
			t.Errorf("refusal %d: Content-Type %q, WWW-Authenticate %q; want a problem with a challenge",
				status, header.Get("Content-Type"), header.Get("Www-Authenticate"))
		}
		return
	}
	var got whoami
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	claims := got.Claims
	got.Claims = nil
	if diff := cmp.Diff(ada, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	wantClaims := map[string]any{
		"preferred_username": "ada@contoso.example",
		"groups":             []any{"f08bbbea-b793-4a36-a5fc-136c18d8aa8f", "14a87ffa-0801-49bf-a515-3d259a2a9f8f"},
		"http://schemas.microsoft.com/identity/claims/objectidentifier": "5b5450db-eb26-4c1a-981c-ba1d25f0483d",
	}
	for k, v := range wantClaims {
		if !cmp.Equal(claims[k], v) {
			t.Errorf("claim %q: got %#v, want %#v", k, claims[k], v)
		}
	}
	if _, ok := claims["http://schemas.microsoft.com/2017/07/functions/claims/authlevel"]; ok {
		t.Error("the function key's identity was taken for the caller's")
	}
}

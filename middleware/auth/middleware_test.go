package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/middleware/auth"
)

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func apiKeys(t *testing.T) auth.APIKeys {
	keys, err := auth.ParseAPIKeys([]byte(`[
		{"name":"billing-service","hash":"` + auth.HashAPIKey("s3cret-billing") + `","scopes":["users:write"]},
		{"name":"reporting","hash":"` + auth.HashAPIKey("s3cret-reporting") + `","scopes":["users:read"],"roles":["auditor"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	return auth.APIKeys{Keys: func(context.Context) ([]auth.APIKey, error) { return keys, nil }}
}

func TestAPIKeysAndScopes(t *testing.T) {
	h := auth.Middleware(nil, apiKeys(t))(auth.RequireScopes("users:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		w.Write([]byte(p.Subject))
	})))
	tests := []struct {
		name, key  string
		wantStatus int
		wantBody   string
		wantChall  string
	}{
		{"accepted key with the scope", "s3cret-billing", 200, "billing-service", ""},
		{"accepted key without the scope", "s3cret-reporting", 403, "", `error="insufficient_scope", scope="users:write"`},
		{"unknown key", "guess", 401, "", `error="invalid_token"`},
		{"no key", "", 401, "", `Bearer realm="polyfn"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/users", nil)
			if tt.key != "" {
				req.Header.Set("X-API-Key", tt.key)
			}
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body %q, want %q", rec.Body, tt.wantBody)
			}
			if ch := rec.Header().Get("WWW-Authenticate"); tt.wantChall != "" && !strings.Contains(ch, tt.wantChall) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", ch, tt.wantChall)
			}
		})
	}
}

func TestAPIKeySourceFailureIsUnavailable(t *testing.T) {
	broken := auth.APIKeys{Keys: func(context.Context) ([]auth.APIKey, error) { return nil, errors.New("secret store down") }}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-API-Key", "k")
	auth.Middleware(nil, broken)(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != 503 || strings.Contains(rec.Body.String(), "secret store") {
		t.Errorf("got %d %s, want a generic 503", rec.Code, rec.Body)
	}
}

func TestParseAPIKeysRejects(t *testing.T) {
	for _, in := range []string{`{`, `[{"name":"a","hash":"md5:00"}]`, `[{"name":"a","hash":"sha256:zz"}]`, `[{"hash":"` + auth.HashAPIKey("k") + `"}]`} {
		if _, err := auth.ParseAPIKeys([]byte(in)); err == nil {
			t.Errorf("ParseAPIKeys(%s) succeeded", in)
		}
	}
}

func TestRequireRolesWithoutPrincipal(t *testing.T) {
	rec := httptest.NewRecorder()
	auth.RequireRoles("admin")(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("got %d, want 401 with a challenge", rec.Code)
	}
}

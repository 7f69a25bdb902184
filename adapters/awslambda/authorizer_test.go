package awslambda

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
)

// TestGatewayClaims decodes each payload of the testdata as Invoke does and
// checks the principal auth.Gateway makes of its authorizer's output.
func TestGatewayClaims(t *testing.T) {
	h, _ := newTestHandler(t)
	tests := []struct {
		file       string
		want       *auth.Principal // nil: no gateway identity
		wantClaims map[string]any  // a few of the principal's claims
	}{
		{"apigw-v2-jwt.json", &auth.Principal{Subject: "5f1c9a2e-0d3b-4e7a-9c1f-2b8d6e4a0c11",
			Scopes: []string{"users:read"}, Roles: []string{"admins", "editors"}},
			map[string]any{"email": "ada@example.com", "scope": "users:read", "exp": "1764000000"}},
		{"apigw-v2-post.json", &auth.Principal{Subject: "user-7", Scopes: []string{"users:write"}},
			map[string]any{"scope": "users:write"}},
		{"apigw-v2-lambda-authorizer.json", &auth.Principal{Subject: "svc-reporting", Scopes: []string{"users:read"}},
			map[string]any{"tenant": "acme", "quota": float64(250)}},
		{"apigw-v1-cognito.json", &auth.Principal{Subject: "5f1c9a2e-0d3b-4e7a-9c1f-2b8d6e4a0c11", Roles: []string{"admins"}},
			map[string]any{"cognito:username": "ada", "token_use": "id"}},
		{"apigw-v1-lambda-authorizer.json", &auth.Principal{Subject: "user|ada", Scopes: []string{"users:read", "users:write"}},
			map[string]any{"tenant": "acme", "admin": true}},
		{"apigw-v1-httpapi-jwt.json", &auth.Principal{Subject: "auth0|5fe435b5cbbc85006b071eba", Scopes: []string{"users:read", "profile"}},
			map[string]any{"azp": "FT6TMjfHI2lkxjpAbG5tCjEdiEkyvMCA"}},
		// No authorizer ran, or one that names no token's claims.
		{"apigw-v2-get.json", nil, nil},
		{"apigw-v1-rest.json", nil, nil},
		{"function-url.json", nil, nil}, // IAM: an AWS principal, not claims
		{"alb-single.json", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := h.Decode(t.Context(), readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := auth.Gateway{}.Authenticate(d.Request)
			if tt.want == nil {
				if err != auth.ErrNoCredentials {
					t.Fatalf("got principal %+v, error %v; want no gateway credentials", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Method != auth.MethodGateway {
				t.Errorf("method: got %q, want %q", p.Method, auth.MethodGateway)
			}
			got := &auth.Principal{Subject: p.Subject, Scopes: p.Scopes, Roles: p.Roles}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			for k, v := range tt.wantClaims {
				if !cmp.Equal(p.Claims[k], v) {
					t.Errorf("claim %q: got %#v, want %#v", k, p.Claims[k], v)
				}
			}
			for _, k := range []string{"principalId", "integrationLatency"} {
				if _, ok := p.Claims[k]; ok {
					t.Errorf("claim %q: the authorizer's own field is not a claim", k)
				}
			}
		})
	}
}

// TestBracketList checks the reading of API Gateway's array claims.
func TestBracketList(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"[admins editors]", []any{"admins", "editors"}},
		{"[admins]", []any{"admins"}},
		{"[]", []any{}},
		{"admins", "admins"},
		{"[unclosed", "[unclosed"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := bracketList(tt.in); !cmp.Equal(got, tt.want) {
			t.Errorf("bracketList(%q): got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// TestGatewayProtectedRoute serves a route that trusts API Gateway's
// authorizer (auth.Gateway) and requires a scope: 200 with the authorizer's
// claims, 401 without an authorizer, 403 without the scope, and neither a
// client's headers nor a bearer token stand in for the authorizer.
func TestGatewayProtectedRoute(t *testing.T) {
	app := core.NewApp("gateway")
	protect := auth.Middleware(nil, auth.Gateway{})
	app.Handle("GET /users/{id}", protect(auth.RequireScopes("users:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": p.Subject, "id": r.PathValue("id")})
	}))))
	h, err := New([]*core.App{app}, &Options{Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	withScope := func(file, scopes string) []byte {
		var m map[string]any
		if err := json.Unmarshal(readTestdata(t, file), &m); err != nil {
			t.Fatal(err)
		}
		jwt := m["requestContext"].(map[string]any)["authorizer"].(map[string]any)["jwt"].(map[string]any)
		jwt["scopes"] = []string{scopes}
		b, _ := json.Marshal(m)
		return b
	}
	spoofed := func() []byte { // a client's own claims in headers reach no authorizer field
		var m map[string]any
		if err := json.Unmarshal(readTestdata(t, "apigw-v2-get.json"), &m); err != nil {
			t.Fatal(err)
		}
		m["headers"].(map[string]any)["x-ms-client-principal"] = "eyJjbGFpbXMiOltdfQ=="
		m["headers"].(map[string]any)["x-amzn-oidc-data"] = "e30.e30.e30"
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name       string
		payload    []byte
		wantStatus int
		wantSub    string
	}{
		{"HTTP API JWT authorizer", readTestdata(t, "apigw-v2-jwt.json"), http.StatusOK, "5f1c9a2e-0d3b-4e7a-9c1f-2b8d6e4a0c11"},
		{"HTTP API Lambda authorizer", readTestdata(t, "apigw-v2-lambda-authorizer.json"), http.StatusOK, "svc-reporting"},
		{"REST API Lambda authorizer", readTestdata(t, "apigw-v1-lambda-authorizer.json"), http.StatusOK, "user|ada"},
		{"no authorizer, bearer token in the header", readTestdata(t, "apigw-v2-get.json"), http.StatusUnauthorized, ""},
		{"no authorizer, identity headers", spoofed(), http.StatusUnauthorized, ""},
		{"authorizer without the scope", withScope("apigw-v2-jwt.json", "users:write"), http.StatusForbidden, ""},
		{"Cognito ID token, no scopes", readTestdata(t, "apigw-v1-cognito.json"), http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invokeHTTP(t, h, tt.payload)
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d %s, want %d", r.StatusCode, r.Body, tt.wantStatus)
			}
			header := r.Headers
			if header == nil {
				header = map[string]string{}
				for k, vs := range r.MultiValueHeaders {
					header[k] = vs[len(vs)-1]
				}
			}
			if tt.wantStatus != http.StatusOK {
				var p core.Problem
				if err := json.Unmarshal([]byte(r.Body), &p); err != nil || header["Content-Type"] != "application/problem+json" {
					t.Fatalf("body %s (%s): want a problem", r.Body, header["Content-Type"])
				}
				if header["Www-Authenticate"] == "" {
					t.Errorf("no WWW-Authenticate challenge on %d", r.StatusCode)
				}
				return
			}
			var got struct{ Sub, ID string }
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Sub != tt.wantSub || got.ID != "7f9c24e5-2b1a-4c3e-9d8f-0a1b2c3d4e5f" {
				t.Errorf("handler saw sub %q id %q, want %q and the path's id", got.Sub, got.ID, tt.wantSub)
			}
		})
	}
}

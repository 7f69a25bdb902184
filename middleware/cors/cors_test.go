package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polyfn/polyfn/middleware/cors"
)

func TestCORS(t *testing.T) {
	h := cors.Middleware(cors.Options{Origins: []string{"https://app.example.com"}, Methods: []string{"GET", "POST"}, AllowCredentials: true, Expose: []string{"Location"}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	tests := []struct {
		name, method, origin, reqMethod string
		wantStatus                      int
		wantOrigin                      string
	}{
		{"preflight allowed", "OPTIONS", "https://app.example.com", "POST", 204, "https://app.example.com"},
		{"preflight other origin", "OPTIONS", "https://evil.example", "POST", 403, ""},
		{"preflight method not allowed", "OPTIONS", "https://app.example.com", "DELETE", 403, ""},
		{"simple request allowed", "GET", "https://app.example.com", "", 200, "https://app.example.com"},
		{"simple request other origin", "GET", "https://evil.example", "", 200, ""},
		{"same-origin request", "GET", "", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/users", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.reqMethod != "" {
				req.Header.Set("Access-Control-Request-Method", tt.reqMethod)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Access-Control-Allow-Origin") != tt.wantOrigin {
				t.Errorf("got %d origin %q, want %d %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), tt.wantStatus, tt.wantOrigin)
			}
			if tt.wantOrigin != "" && rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("credentials not allowed")
			}
		})
	}
}

// TestRefusedPreflightIsProblem checks the exact answer to a refused
// preflight: 403 with an RFC 9457 problem, and no CORS grant.
func TestRefusedPreflightIsProblem(t *testing.T) {
	h := cors.Middleware(cors.Options{Origins: []string{"https://app.example.com"}, Methods: []string{"GET", "POST"}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("a refused preflight reached the handler") }))
	tests := []struct {
		name, origin, method, wantBody string
	}{
		{"other origin", "https://evil.example", "POST",
			`{"type":"urn:polyfn:problem:permission-denied","title":"Forbidden","status":403,"detail":"cross-origin requests from this origin are not allowed","instance":"/users"}` + "\n"},
		{"method not allowed", "https://app.example.com", "DELETE",
			`{"type":"urn:polyfn:problem:permission-denied","title":"Forbidden","status":403,"detail":"the method \"DELETE\" is not allowed in cross-origin requests (allowed: GET, POST)","instance":"/users"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodOptions, "/users", nil)
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", tt.method)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("status: got %d, want 403", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type: got %q, want application/problem+json", got)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body:\ngot  %s\nwant %s", got, tt.wantBody)
			}
			for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
				if v := rec.Header().Get(k); v != "" {
					t.Errorf("%s: got %q on a refused preflight, want none", k, v)
				}
			}
			if got := rec.Header().Values("Vary"); len(got) != 3 {
				t.Errorf("Vary: got %q, want Origin, Access-Control-Request-Method and Access-Control-Request-Headers", got)
			}
		})
	}
}

package cors_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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
			// rs/cors writes the three names as one comma-separated value, which
			// RFC 9110 §5.3 makes the same field as three lines.
			var vary []string
			for _, v := range rec.Header().Values("Vary") {
				for _, name := range strings.Split(v, ",") {
					vary = append(vary, strings.TrimSpace(name))
				}
			}
			if want := []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}; !slices.Equal(vary, want) {
				t.Errorf("Vary: got %q, want %q", vary, want)
			}
		})
	}
}

// TestRefusedHeaders checks that a preflight asking to send a header that is
// not allowed is refused with a problem naming the allowed ones, and that
// one asking for allowed headers (in any case) is granted.
func TestRefusedHeaders(t *testing.T) {
	h := cors.Middleware(cors.Options{Origins: []string{"https://app.example.com"}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("a preflight reached the handler") }))
	for _, tt := range []struct {
		headers    string
		wantStatus int
		wantDetail string
	}{
		{"content-type,idempotency-key", 204, ""},
		{"x-secret", 403, `the headers \"x-secret\" are not all allowed in cross-origin requests (allowed: Content-Type, Authorization, Idempotency-Key, X-API-Key)`},
	} {
		req := httptest.NewRequest(http.MethodOptions, "/users", nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", tt.headers)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantDetail) {
			t.Errorf("headers %q: got %d %s, want %d with %s", tt.headers, rec.Code, rec.Body, tt.wantStatus, tt.wantDetail)
		}
		if tt.wantStatus == 204 && rec.Header().Get("Access-Control-Allow-Headers") == "" {
			t.Errorf("headers %q: granted without Access-Control-Allow-Headers", tt.headers)
		}
	}
}

// TestOrigins checks the origin lists that rs/cors reads otherwise: none
// allows none (not any), and "*" allows any but never with credentials.
func TestOrigins(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tt := range []struct {
		name       string
		opts       cors.Options
		wantStatus int
		wantOrigin string
	}{
		{"no origins", cors.Options{}, 403, ""},
		{"any origin", cors.Options{Origins: []string{"*"}}, 204, "*"},
		{"any origin with credentials", cors.Options{Origins: []string{"*"}, AllowCredentials: true}, 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodOptions, "/users", nil)
			req.Header.Set("Origin", "https://app.example.com")
			req.Header.Set("Access-Control-Request-Method", "GET")
			rec := httptest.NewRecorder()
			cors.Middleware(tt.opts)(ok).ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Access-Control-Allow-Origin") != tt.wantOrigin {
				t.Errorf("got %d origin %q, want %d %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), tt.wantStatus, tt.wantOrigin)
			}
		})
	}
}

package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polyfn/polyfn/core/cors"
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

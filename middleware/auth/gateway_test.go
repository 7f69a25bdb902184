package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
)

func TestGatewayClaims(t *testing.T) {
	var got *auth.Principal
	h := auth.Middleware(nil, auth.Gateway{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = auth.FromContext(r.Context())
	}))
	req := httptest.NewRequest("GET", "/", nil)
	ctx := core.WithGatewayClaims(req.Context(), map[string]any{"sub": "alice", "scope": "users:read", "cognito:groups": []any{"admins"}})
	h.ServeHTTP(httptest.NewRecorder(), req.WithContext(ctx))
	if got == nil || got.Subject != "alice" || !got.HasScope("users:read") || !got.HasRole("admins") || got.Method != auth.MethodGateway {
		t.Fatalf("principal = %+v", got)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 {
		t.Errorf("without gateway claims: %d, want 401", rec.Code)
	}
}

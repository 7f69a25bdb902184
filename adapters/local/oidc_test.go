package local_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/middleware/auth"
)

// TestDevIssuerTokensVerify proves a token from IssueToken passes the same
// verifier functions use in the cloud, through discovery over real HTTP, and
// that the key outlives a restart of the issuer.
func TestDevIssuerTokensVerify(t *testing.T) {
	data := t.TempDir()
	iss, err := local.StartIssuer(t.Context(), data, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := local.IssueToken(data, local.TokenRequest{Subject: "alice", Scopes: []string{"users:read", "users:write"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: iss.URL, Audience: []string{local.DevAudience}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(t.Context(), tok)
	if err != nil || p.Subject != "alice" || !p.HasScope("users:write") {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	iss.Close()

	// Restarted on another port: the key is the same, a new token verifies.
	iss2, err := local.StartIssuer(t.Context(), data, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer iss2.Close()
	tok2, err := local.IssueToken(data, local.TokenRequest{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := auth.NewJWTVerifier(auth.JWTOptions{Issuer: iss2.URL, Audience: []string{local.DevAudience}})
	if _, err := v2.Verify(t.Context(), tok2); err != nil {
		t.Fatalf("token after restart: %v", err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok2)
	reached := false
	auth.Middleware(nil, auth.Bearer{Verifier: v2})(auth.RequireScopes("users:write")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))).ServeHTTP(rec, req)
	if rec.Code != 403 || reached {
		t.Errorf("token without the scope: %d (reached %v), want 403", rec.Code, reached)
	}
}

func TestIssueTokenWithoutIssuer(t *testing.T) {
	if _, err := local.IssueToken(t.TempDir(), local.TokenRequest{Subject: "alice"}); err == nil {
		t.Error("IssueToken without a started issuer succeeded")
	}
}

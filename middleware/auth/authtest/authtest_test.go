package authtest_test

import (
	"context"
	"testing"
	"time"

	"gocloud.dev/runtimevar"
	_ "gocloud.dev/runtimevar/filevar"

	"github.com/polyfn/polyfn/middleware/auth"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// TestTokensVerify proves the issuer's tokens verify through discovery and
// through the key set file, and that its bad tokens are rejected.
func TestTokensVerify(t *testing.T) {
	iss := authtest.NewIssuer(t)
	for _, jwksURL := range []string{"", iss.JWKSURL} {
		v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: iss.URL, Audience: []string{authtest.Audience}, JWKSURL: jwksURL})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			tok  authtest.Token
			ok   bool
		}{
			{"valid", authtest.Token{Subject: "alice", Scopes: []string{"users:read", "users:write"}, Roles: []string{"admin"}}, true},
			{"expired", authtest.Token{Subject: "alice", TTL: -time.Minute}, false},
			{"other audience", authtest.Token{Subject: "alice", Audience: "elsewhere"}, false},
			{"other issuer", authtest.Token{Subject: "alice", Issuer: "https://issuer.example.com"}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := v.Verify(t.Context(), iss.Sign(t, tt.tok))
				if ok := err == nil; ok != tt.ok {
					t.Fatalf("Verify (JWKS URL %q): got error %v, want ok %v", jwksURL, err, tt.ok)
				}
				if tt.ok && (p.Subject != "alice" || !p.HasScope("users:write") || !p.HasRole("admin")) {
					t.Errorf("principal: got %+v", p)
				}
			})
		}
	}
}

func TestKeyListURL(t *testing.T) {
	u := authtest.KeyListURL(t, authtest.Key{Name: "ci", Secret: "s3cret", Scopes: []string{"users:read"}})
	v, err := runtimevar.OpenVariable(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	snap, err := v.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseAPIKeys(snap.Value.([]byte))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Name != "ci" || keys[0].Hash != auth.HashAPIKey("s3cret") || keys[0].Scopes[0] != "users:read" {
		t.Errorf("keys: got %+v", keys)
	}
}

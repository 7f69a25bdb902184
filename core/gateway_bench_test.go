package core_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/polyfn/polyfn/middleware/auth"
	"github.com/polyfn/polyfn/middleware/ratelimit"
	"github.com/polyfn/polyfn/middleware/validate"
)

// BenchmarkGatewayChain measures what the portable gateway adds to a request:
// JWT verification (RS256, keys cached), scope check, rate limiting with the
// in-process store, and JSON Schema validation of the body, against the same
// handler bare (BenchmarkGatewayBare).
func BenchmarkGatewayChain(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	keys := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "openid-configuration") {
			w.Write([]byte(`{"issuer":"http://` + r.Host + `","jwks_uri":"http://` + r.Host + `/jwks"}`))
			return
		}
		json.NewEncoder(w).Encode(keys)
	}))
	defer jwks.Close()
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: jwks.URL, Audience: []string{"users"}})
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	tok, _ := jwt.Signed(signer).Claims(map[string]any{"iss": jwks.URL, "aud": "users", "sub": "alice", "scope": "users:write",
		"exp": time.Now().Add(time.Hour).Unix()}).Serialize()
	schema := validate.MustCompile("user.json", []byte(`{"type":"object","required":["name","email"],"additionalProperties":false,
		"properties":{"name":{"type":"string","minLength":1,"maxLength":200},"email":{"type":"string","format":"email"}}}`))
	chain := auth.Middleware(nil, auth.Bearer{Verifier: v})(
		auth.RequireScopes("users:write")(
			ratelimit.Middleware(ratelimit.NewMemory(), ratelimit.Limit{Rate: 1e9, Burst: 1 << 30}, nil)(
				validate.Body(schema, nil)(created))))
	run(b, chain, "Bearer "+tok)
}

// BenchmarkGatewayBare is the same request to the bare handler.
func BenchmarkGatewayBare(b *testing.B) { run(b, created, "") }

var created = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })

func run(b *testing.B, h http.Handler, authz string) {
	body := `{"name":"Ada Lovelace","email":"ada@example.com"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/users", strings.NewReader(body)).WithContext(context.Background())
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

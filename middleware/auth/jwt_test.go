package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/polyfn/polyfn/middleware/auth"
)

// issuer is a test OIDC issuer: discovery and JWKS over real HTTP, with keys
// that can be rotated, counting JWKS fetches.
type issuer struct {
	srv     *httptest.Server
	keys    atomic.Pointer[[]*rsa.PrivateKey]
	kids    atomic.Pointer[[]string]
	fetches atomic.Int32
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{}
	is.rotate(t, "k1")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		var set jose.JSONWebKeySet
		for i, k := range *is.keys.Load() {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: (*is.kids.Load())[i], Algorithm: "RS256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// rotate replaces the published keys by one new key with id kid.
func (is *issuer) rotate(t *testing.T, kid string) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.keys.Store(&[]*rsa.PrivateKey{k})
	is.kids.Store(&[]string{kid})
	return k
}

func (is *issuer) key() (*rsa.PrivateKey, string) {
	return (*is.keys.Load())[0], (*is.kids.Load())[0]
}

type claims struct {
	jwt.Claims
	Scope string `json:"scope,omitempty"`
}

func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, c claims) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func goodClaims(is *issuer) claims {
	now := time.Now()
	return claims{Claims: jwt.Claims{Issuer: is.srv.URL, Subject: "alice", Audience: jwt.Audience{"users-api"},
		Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now)},
		Scope: "users:read users:write"}
}

// protected is a handler behind the middleware that records whether it ran.
func protected(t *testing.T, v *auth.JWTVerifier, reached *bool) http.Handler {
	return auth.Middleware(nil, auth.Bearer{Verifier: v})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*reached = true
		p, _ := auth.FromContext(r.Context())
		json.NewEncoder(w).Encode(p)
	}))
}

func TestJWT(t *testing.T) {
	is := newIssuer(t)
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"}, MinRefreshInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	key, kid := is.key()
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&key.PublicKey))})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)

	mod := func(f func(*claims)) claims { c := goodClaims(is); f(&c); return c }
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", sign(t, key, jose.RS256, kid, goodClaims(is)), true},
		{"expired", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-2 * time.Minute)) })), false},
		{"expired within the leeway", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-10 * time.Second)) })), true},
		{"not yet valid", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(10 * time.Minute)) })), false},
		{"issued in the future", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(10 * time.Minute)) })), false},
		{"no exp", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.Expiry = nil })), false},
		{"wrong issuer", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.Issuer = "https://evil.example" })), false},
		{"wrong audience", sign(t, key, jose.RS256, kid, mod(func(c *claims) { c.Audience = jwt.Audience{"billing-api"} })), false},
		{"alg none", unsigned(t, kid, goodClaims(is)), false},
		{"HS256 with the RSA public key as secret", sign(t, pubPEM, jose.HS256, kid, goodClaims(is)), false},
		{"signed by another key", sign(t, other, jose.RS256, kid, goodClaims(is)), false},
		{"tampered payload", tamper(t, sign(t, key, jose.RS256, kid, goodClaims(is))), false},
		{"unknown kid", sign(t, key, jose.RS256, "k-unknown", goodClaims(is)), false},
		{"garbage", "not.a.jwt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/users/1", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			protected(t, v, &reached).ServeHTTP(rec, req)
			if tt.ok {
				if rec.Code != 200 || !reached || !strings.Contains(rec.Body.String(), `"Subject":"alice"`) {
					t.Fatalf("got %d %s (reached %v), want 200 for alice", rec.Code, rec.Body, reached)
				}
				return
			}
			if rec.Code != 401 || reached {
				t.Fatalf("got %d (reached %v), want 401 and the handler not reached; body %s", rec.Code, reached, rec.Body)
			}
			if ch := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="polyfn"`) || !strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q, want a Bearer invalid_token challenge", ch)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestJWTKeyRotationAndRefreshLimits(t *testing.T) {
	is := newIssuer(t)
	now := time.Now()
	clock := &now
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"},
		MinRefreshInterval: 10 * time.Second, Now: func() time.Time { return *clock }})
	if err != nil {
		t.Fatal(err)
	}
	if is.fetches.Load() != 0 {
		t.Fatal("keys fetched before the first token: the cold start should make no network call")
	}
	key, kid := is.key()
	if _, err := v.Verify(t.Context(), sign(t, key, jose.RS256, kid, goodClaims(is))); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	// An unknown kid triggers exactly one refresh; a second one within the
	// minimum interval triggers none.
	before := is.fetches.Load()
	for range 2 {
		if _, err := v.Verify(t.Context(), sign(t, key, jose.RS256, "nope", goodClaims(is))); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if got := is.fetches.Load() - before; got != 1 {
		t.Errorf("unknown kids caused %d fetches, want 1", got)
	}
	// The issuer rotates its key; once the minimum interval has passed, a
	// token signed with the new key is accepted and the old key is gone.
	newKey := is.rotate(t, "k2")
	*clock = now.Add(11 * time.Second)
	if _, err := v.Verify(t.Context(), sign(t, newKey, jose.RS256, "k2", goodClaims(is))); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	// go-oidc answers the verification that waited for the fetch before it
	// stores the fetched set (RemoteKeySet.keysFromRemote), so a token
	// verified in that instant still meets the old key; once the set is
	// stored the retired key is refused, and no further fetch brings it back.
	old := sign(t, key, jose.RS256, kid, goodClaims(is))
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := v.Verify(t.Context(), old); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("token with the retired key still accepted 5 s after the rotated keys were fetched")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Verify(t.Context(), old); err == nil {
		t.Error("token with the retired key accepted again after it was refused")
	}
}

func TestJWTFromFile(t *testing.T) {
	is := newIssuer(t)
	key, kid := is.key()
	path := t.TempDir() + "/jwks.json"
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}}
	if err := writeJSON(path, set); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"}, JWKSURL: "file://" + path})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(t.Context(), sign(t, key, jose.RS256, kid, goodClaims(is)))
	if err != nil || p.Subject != "alice" || !p.HasScope("users:write") {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if is.fetches.Load() != 0 {
		t.Error("a file JWKS fetched from the issuer")
	}
}

func TestNewJWTVerifierRejectsUnsafeAlgorithms(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{"none", jose.HS256} {
		if _, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: "i", Audience: []string{"a"}, Algorithms: []jose.SignatureAlgorithm{alg}}); err == nil {
			t.Errorf("algorithm %s accepted", alg)
		}
	}
}

// unsigned returns an alg:none token.
func unsigned(t *testing.T, kid string, c claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "."
}

// tamper changes the subject in a signed token's payload.
func tamper(t *testing.T, tok string) string {
	parts := strings.Split(tok, ".")
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(p), "alice", "admin", 1)))
	return strings.Join(parts, ".")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestJWTIssuerDown(t *testing.T) {
	var calls atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: down.URL, Audience: []string{"a"}, MinRefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tok := sign(t, key, jose.RS256, "k1", claims{Claims: jwt.Claims{Issuer: down.URL, Audience: jwt.Audience{"a"}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	for range 3 {
		reached := false
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		protected(t, v, &reached).ServeHTTP(rec, req)
		if rec.Code != 503 || reached {
			t.Fatalf("issuer down: got %d (reached %v), want 503", rec.Code, reached)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("the down issuer was asked %d times, want once per MinRefreshInterval", got)
	}
}

// TestJWTPrefetch checks that Prefetch fetches the keys once, ahead of the
// first token, which then needs no fetch of its own; and that a failed
// prefetch is not remembered, so the first token tries again at once.
func TestJWTPrefetch(t *testing.T) {
	is := newIssuer(t)
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"}, MinRefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := v.Prefetch(t.Context()); err != nil {
			t.Fatalf("Prefetch: %v", err)
		}
	}
	if got := is.fetches.Load(); got != 1 {
		t.Fatalf("two prefetches fetched the keys %d times, want 1", got)
	}
	key, kid := is.key()
	if _, err := v.Verify(t.Context(), sign(t, key, jose.RS256, kid, goodClaims(is))); err != nil {
		t.Fatalf("valid token after Prefetch: %v", err)
	}
	if got := is.fetches.Load(); got != 1 {
		t.Errorf("the first token fetched the keys again (%d fetches)", got)
	}

	// The issuer is unreachable while the function starts, then comes up.
	var up atomic.Bool
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		is.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	v, err = auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"},
		JWKSURL: flaky.URL + "/jwks", MinRefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prefetch(t.Context()); err == nil {
		t.Fatal("Prefetch from a down issuer: got no error")
	}
	up.Store(true)
	if _, err := v.Verify(t.Context(), sign(t, key, jose.RS256, kid, goodClaims(is))); err != nil {
		t.Errorf("the first token after a failed prefetch: %v, want it to fetch again and pass", err)
	}
}

// TestJWTRefreshInterval checks that keys older than RefreshInterval are
// fetched again before a token is verified, and that the stale keys keep
// verifying while the issuer is down.
func TestJWTRefreshInterval(t *testing.T) {
	is := newIssuer(t)
	var down atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer front.Close()
	start := time.Now()
	now := start
	clock := &now
	v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"}, JWKSURL: front.URL + "/jwks",
		RefreshInterval: time.Minute, MinRefreshInterval: time.Second, Now: func() time.Time { return *clock }})
	if err != nil {
		t.Fatal(err)
	}
	key, kid := is.key()
	tok := sign(t, key, jose.RS256, kid, goodClaims(is))
	for i, step := range []struct {
		advance time.Duration
		down    bool
		fetches int32
	}{
		{0, false, 1},                 // the first token fetches
		{30 * time.Second, false, 1},  // fresh keys: no fetch
		{61 * time.Second, false, 2},  // stale: fetched again
		{122 * time.Second, true, 2},  // stale, issuer down: the old keys serve (the down issuer is not counted)
		{122 * time.Second, false, 2}, // within MinRefreshInterval of the failure: no new try
		{124 * time.Second, false, 3}, // then it tries again
	} {
		*clock = start.Add(step.advance)
		down.Store(step.down)
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := is.fetches.Load(); got != step.fetches {
			t.Errorf("step %d: %d fetches, want %d", i, got, step.fetches)
		}
	}
}

// TestJWTBadKeySet checks that a key set that cannot be used is the
// issuer's failure (503), not the token's.
func TestJWTBadKeySet(t *testing.T) {
	is := newIssuer(t)
	key, kid := is.key()
	for name, body := range map[string]string{
		"not JSON":  "<html>sign in</html>",
		"too large": `{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
			defer srv.Close()
			v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: is.srv.URL, Audience: []string{"users-api"}, JWKSURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+sign(t, key, jose.RS256, kid, goodClaims(is)))
			protected(t, v, &reached).ServeHTTP(rec, req)
			if rec.Code != 503 || reached {
				t.Errorf("got %d (reached %v), want 503", rec.Code, reached)
			}
		})
	}
}

// Package authtest gives tests the credentials that middleware/auth accepts: an
// OIDC issuer that signs tokens with a key of its own and serves discovery
// and its key set over HTTP (and writes the key set to a file, for
// JWTOptions.JWKSURL), and API key lists as runtime variables.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/polyfn/polyfn/middleware/auth"
)

// Audience is the audience of tokens that do not name another.
const Audience = "polyfn-test"

// Issuer is a test OIDC issuer. Its discovery document and key set are
// served until the test ends.
type Issuer struct {
	// URL is the issuer's URL, its tokens' "iss": an httptest server on
	// 127.0.0.1 serving /.well-known/openid-configuration and /jwks, so
	// child processes reach it too.
	URL string
	// JWKSURL is a file:// URL of the same key set.
	JWKSURL string

	key *rsa.PrivateKey
	kid string
}

// NewIssuer starts an issuer with a new RSA key and stops it when tb ends.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	iss := &Issuer{key: key, kid: "authtest-1"}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: iss.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, set) })
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	iss.URL = srv.URL

	b, err := json.Marshal(set)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	iss.JWKSURL = fileURL(path)
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Token describes a token. The zero value but for Subject is a valid token
// for Audience, for an hour.
type Token struct {
	Subject string
	Scopes  []string
	Roles   []string
	// Audience is the "aud"; default the package's Audience.
	Audience string
	// Issuer overrides the "iss" (to test a token from another issuer).
	Issuer string
	// TTL is how long the token is valid from now; default an hour. A
	// negative TTL gives a token that expired that long ago.
	TTL time.Duration
}

// Sign returns tok signed (RS256) with the issuer's key.
func (iss *Issuer) Sign(tb testing.TB, tok Token) string {
	tb.Helper()
	if tok.Audience == "" {
		tok.Audience = Audience
	}
	if tok.Issuer == "" {
		tok.Issuer = iss.URL
	}
	if tok.TTL == 0 {
		tok.TTL = time.Hour
	}
	now := time.Now()
	issued := now
	if tok.TTL < 0 {
		issued = now.Add(2 * tok.TTL)
	}
	claims := struct {
		jwt.Claims
		Scope string   `json:"scope,omitempty"`
		Roles []string `json:"roles,omitempty"`
	}{
		Claims: jwt.Claims{Issuer: tok.Issuer, Subject: tok.Subject, Audience: jwt.Audience{tok.Audience},
			IssuedAt: jwt.NewNumericDate(issued), NotBefore: jwt.NewNumericDate(issued), Expiry: jwt.NewNumericDate(now.Add(tok.TTL))},
		Scope: strings.Join(tok.Scopes, " "),
		Roles: tok.Roles,
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: iss.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", iss.kid))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Bearer returns the Authorization header value of a token for subject with
// scopes.
func (iss *Issuer) Bearer(tb testing.TB, subject string, scopes ...string) string {
	tb.Helper()
	return "Bearer " + iss.Sign(tb, Token{Subject: subject, Scopes: scopes})
}

// Key is an API key to accept.
type Key struct {
	// Name names the key's holder (Principal.Subject).
	Name string
	// Secret is the key itself, as clients send it.
	Secret string
	Scopes []string
	Roles  []string
}

// KeyList returns the stored form of keys (auth.ParseAPIKeys reads it).
func KeyList(keys ...Key) []byte {
	list := make([]auth.APIKey, len(keys))
	for i, k := range keys {
		list[i] = auth.APIKey{Name: k.Name, Hash: auth.HashAPIKey(k.Secret), Scopes: k.Scopes, Roles: k.Roles}
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err) // a list of strings always marshals
	}
	return b
}

// KeyListURL writes KeyList(keys...) to a file and returns its gocloud
// runtimevar URL (file://…?decoder=bytes; link gocloud.dev/runtimevar/filevar
// to open it).
func KeyListURL(tb testing.TB, keys ...Key) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "api-keys.json")
	if err := os.WriteFile(path, KeyList(keys...), 0o600); err != nil {
		tb.Fatal(err)
	}
	return fileURL(path) + "?decoder=bytes"
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

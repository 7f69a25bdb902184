package local

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DevAudience is the audience of tokens from the development issuer, and
// the audience a function accepts on the local runtime unless told otherwise.
const DevAudience = "polyfn-local"

// Issuer is the development OIDC issuer: it serves discovery and its key
// set over HTTP so that functions verify tokens on the local runtime exactly
// as they do against a real identity provider. Its signing key is kept in
// the data directory, so tokens outlive restarts.
type Issuer struct {
	URL string
	srv *http.Server
	ln  net.Listener
}

// issuerState is what the data directory keeps of the issuer.
type issuerState struct {
	Issuer string `json:"issuer"`
}

func oidcDir(dataDir string) string { return filepath.Join(dataDir, "oidc") }

// signingKey loads the development signing key, making it on first use.
func signingKey(dataDir string) (*rsa.PrivateKey, string, error) {
	path := filepath.Join(oidcDir(dataDir), "signing-key.pem")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", err
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(key)})
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, "", err
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("local: reading the development signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, "", fmt.Errorf("local: %s is not a PEM key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("local: %s: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("local: %s is not an RSA key", path)
	}
	sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(&key.PublicKey))
	return key, hex.EncodeToString(sum[:8]), nil
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return b
}

// StartIssuer serves the development issuer on addr until ctx ends or Close
// is called, and records its URL in the data directory for IssueToken.
func StartIssuer(ctx context.Context, dataDir, addr string) (*Issuer, error) {
	key, kid, err := signingKey(dataDir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("local: OIDC issuer: %w", err)
	}
	iss := &Issuer{URL: "http://" + ln.Addr().String(), ln: ln}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"token"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, jwks) })
	iss.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	state, _ := json.Marshal(issuerState{Issuer: iss.URL})
	if err := os.WriteFile(filepath.Join(oidcDir(dataDir), "issuer.json"), state, 0o644); err != nil {
		ln.Close()
		return nil, fmt.Errorf("local: OIDC issuer: %w", err)
	}
	go func() { _ = iss.srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = iss.Close()
	}()
	return iss, nil
}

// Close stops the issuer.
func (iss *Issuer) Close() error { return iss.srv.Close() }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TokenRequest describes a development token.
type TokenRequest struct {
	Subject  string
	Scopes   []string
	Roles    []string
	Audience string // default DevAudience
	TTL      time.Duration
}

// IssueToken signs a token with the development issuer's key in dataDir,
// for the issuer URL recorded there by the last StartIssuer.
func IssueToken(dataDir string, req TokenRequest) (string, error) {
	b, err := os.ReadFile(filepath.Join(oidcDir(dataDir), "issuer.json"))
	if err != nil {
		return "", fmt.Errorf("local: no development issuer in %s: start `polyfn dev` first (%w)", dataDir, err)
	}
	var st issuerState
	if err := json.Unmarshal(b, &st); err != nil || st.Issuer == "" {
		return "", fmt.Errorf("local: %s/oidc/issuer.json is corrupt", dataDir)
	}
	key, kid, err := signingKey(dataDir)
	if err != nil {
		return "", err
	}
	if req.Subject == "" {
		return "", errors.New("local: a token needs a subject")
	}
	if req.Audience == "" {
		req.Audience = DevAudience
	}
	if req.TTL <= 0 {
		req.TTL = time.Hour
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := struct {
		jwt.Claims
		Scope string   `json:"scope,omitempty"`
		Roles []string `json:"roles,omitempty"`
	}{
		Claims: jwt.Claims{Issuer: st.Issuer, Subject: req.Subject, Audience: jwt.Audience{req.Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(req.TTL))},
		Scope: strings.Join(req.Scopes, " "),
		Roles: req.Roles,
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

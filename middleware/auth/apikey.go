package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIKey is one accepted API key. Only its hash is stored, so a leaked key
// list does not leak keys.
type APIKey struct {
	// Name identifies the key's holder; it becomes Principal.Subject.
	Name string `json:"name"`
	// Hash is "sha256:" and the lower-case hex SHA-256 of the key (HashAPIKey).
	Hash   string   `json:"hash"`
	Scopes []string `json:"scopes,omitempty"`
	Roles  []string `json:"roles,omitempty"`
}

// HashAPIKey returns the stored form of key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseAPIKeys decodes a key list: a JSON array of APIKey objects, as kept
// in a secret store or a runtime variable.
func ParseAPIKeys(b []byte) ([]APIKey, error) {
	var keys []APIKey
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("auth: API key list: %w", err)
	}
	for i, k := range keys {
		h, ok := strings.CutPrefix(k.Hash, "sha256:")
		if raw, err := hex.DecodeString(h); !ok || err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("auth: API key %d (%q): hash must be sha256:<64 hex digits>", i, k.Name)
		}
		if k.Name == "" {
			return nil, fmt.Errorf("auth: API key %d has no name", i)
		}
	}
	return keys, nil
}

// APIKeys authenticates requests that carry an API key in a header.
type APIKeys struct {
	// Header carries the key; default X-API-Key.
	Header string
	// Keys returns the current key list. Back it with a cached source (a
	// gocloud runtimevar.Variable watches its store in the background), not
	// a store call per request.
	Keys func(ctx context.Context) ([]APIKey, error)
}

func (a APIKeys) header() string {
	if a.Header == "" {
		return "X-API-Key"
	}
	return a.Header
}

// Authenticate implements Authenticator.
func (a APIKeys) Authenticate(r *http.Request) (*Principal, error) {
	presented := r.Header.Get(a.header())
	if presented == "" {
		return nil, ErrNoCredentials
	}
	keys, err := a.Keys(r.Context())
	if err != nil {
		return nil, fmt.Errorf("auth: loading API keys: %w", err)
	}
	sum := sha256.Sum256([]byte(presented))
	var match *APIKey
	// Compare against every key, in constant time, whatever matches first.
	for i := range keys {
		want, err := hex.DecodeString(strings.TrimPrefix(keys[i].Hash, "sha256:"))
		if err != nil || len(want) != sha256.Size {
			continue
		}
		if subtle.ConstantTimeCompare(sum[:], want) == 1 && match == nil {
			match = &keys[i]
		}
	}
	if match == nil {
		return nil, fmt.Errorf("%w: unknown API key", errInvalidCredentials)
	}
	return &Principal{Subject: match.Name, Scopes: match.Scopes, Roles: match.Roles, Method: MethodAPIKey}, nil
}

// errInvalidCredentials marks a presented API key that is not accepted.
var errInvalidCredentials = errors.New("invalid credentials")

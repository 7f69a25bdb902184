package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/middleware/auth"
)

// TestTokenAudienceAndTTL runs `polyfn token` with --aud and --ttl against
// a running development issuer, decodes the token it prints, and checks its
// aud and exp; a verifier for that audience accepts it, and one for the
// default audience does not.
func TestTokenAudienceAndTTL(t *testing.T) {
	data := t.TempDir()
	iss, err := local.StartIssuer(t.Context(), data, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })

	tests := []struct {
		name    string
		args    []string
		wantAud string
		wantTTL time.Duration
	}{
		{"defaults", nil, local.DevAudience, time.Hour},
		{"aud and ttl", []string{"--aud", "https://api.example.com", "--ttl", "90s"}, "https://api.example.com", 90 * time.Second},
		{"long ttl", []string{"--ttl", "36h"}, local.DevAudience, 36 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			before := time.Now().Truncate(time.Second)
			args := append([]string{"token", "--data", data, "--sub", "ada", "--scope", "users:read"}, tt.args...)
			if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			after := time.Now()
			tok := strings.TrimSpace(stdout.String())

			claims := jwtPayload(t, tok)
			if got := claims.Aud; len(got) != 1 || got[0] != tt.wantAud {
				t.Errorf("aud: got %q, want [%q]", got, tt.wantAud)
			}
			exp, iat := time.Unix(claims.Exp, 0), time.Unix(claims.Iat, 0)
			if exp.Before(before.Add(tt.wantTTL)) || exp.After(after.Add(tt.wantTTL)) {
				t.Errorf("exp: got %v, want %v after the command ran (between %v and %v)", exp, tt.wantTTL, before.Add(tt.wantTTL), after.Add(tt.wantTTL))
			}
			if got := exp.Sub(iat); got != tt.wantTTL {
				t.Errorf("exp - iat: got %v, want %v", got, tt.wantTTL)
			}
			if claims.Sub != "ada" || claims.Iss != iss.URL {
				t.Errorf("sub %q iss %q, want ada and %s", claims.Sub, claims.Iss, iss.URL)
			}

			// The issuer's keys verify it for its audience, and only for it.
			for _, aud := range []string{tt.wantAud, "someone-else"} {
				v, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: iss.URL, Audience: []string{aud}})
				if err != nil {
					t.Fatal(err)
				}
				p, err := v.Verify(t.Context(), tok)
				switch {
				case aud == tt.wantAud && (err != nil || p.Subject != "ada" || !p.HasScope("users:read")):
					t.Errorf("verifier for %q: principal %+v, error %v; want ada with users:read", aud, p, err)
				case aud != tt.wantAud && err == nil:
					t.Errorf("verifier for %q accepted a token for %q", aud, tt.wantAud)
				}
			}
		})
	}
}

// tokenClaims are the registered claims the test reads.
type tokenClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Exp int64    `json:"exp"`
	Iat int64    `json:"iat"`
}

// audience is "aud": one string, or an array of them (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// jwtPayload decodes a compact JWS's payload without verifying it.
func jwtPayload(t *testing.T, tok string) tokenClaims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("payload %s: %v", b, err)
	}
	return c
}

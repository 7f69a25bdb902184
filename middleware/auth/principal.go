// Package auth authenticates HTTP requests portably: bearer JWTs verified
// against an OIDC issuer's keys, API keys compared against hashed keys, and,
// when configured, the identity a cloud gateway already verified. The
// authenticated Principal is in the request's context; RequireScopes and
// RequireRoles authorize routes. Failures answer as RFC 6750 says (401 with
// WWW-Authenticate for missing or bad credentials, 403 for insufficient
// scope) with an RFC 9457 problem body, and nothing reaches the handler.
package auth

import (
	"context"
	"slices"
	"strings"
)

// Method names how a principal was authenticated.
type Method string

// The methods.
const (
	MethodJWT     Method = "jwt"
	MethodAPIKey  Method = "api-key"
	MethodGateway Method = "gateway"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject identifies the caller: the token's "sub", or the API key's name.
	Subject string
	// Scopes are the OAuth scopes granted ("scope" or "scp" claim).
	Scopes []string
	// Roles are the caller's roles ("roles" claim, or the API key's roles).
	Roles []string
	// Claims are all the token's claims (nil for API keys).
	Claims map[string]any
	Method Method
}

// HasScope reports whether p was granted scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// HasRole reports whether p has role.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

type principalKey struct{}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated principal in ctx, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// principalFromClaims maps standard claims onto a Principal: "sub"; scopes
// from "scope" (a space-separated string, RFC 8693) or "scp" (a string or an
// array, as Azure AD and Okta send); roles from "roles" (an array or a
// string) or Cognito's "cognito:groups".
func principalFromClaims(claims map[string]any, method Method) *Principal {
	p := &Principal{Claims: claims, Method: method}
	p.Subject, _ = claims["sub"].(string)
	p.Scopes = append(stringsOf(claims["scope"]), stringsOf(claims["scp"])...)
	p.Roles = append(stringsOf(claims["roles"]), stringsOf(claims["cognito:groups"])...)
	return p
}

// stringsOf reads a claim that is a space-separated string or an array of
// strings.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

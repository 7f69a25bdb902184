package auth

import (
	"context"
	"net/http"

	"github.com/polyfn/polyfn/core/auth/gateway"
)

// WithGatewayClaims returns a copy of ctx carrying the claims of a caller
// that the platform's gateway already authenticated: API Gateway's JWT,
// Cognito or Lambda authorizer claims, the claims of an Azure App Service
// authentication identity. Adapters put them there (through package
// gateway, which this calls); functions read the result through Gateway,
// only when they choose to trust the gateway.
func WithGatewayClaims(ctx context.Context, claims map[string]any) context.Context {
	return gateway.WithClaims(ctx, claims)
}

// Gateway authenticates requests whose caller the platform's gateway already
// verified, mapping the claims onto the same Principal a verified JWT gives.
// A request without gateway claims has no credentials of this kind, so the
// next authenticator is tried, and without one the answer is 401.
//
// Use it only when the function is reachable through that gateway alone: it
// trusts the adapter's claims without checking a signature. The adapters
// read claims only from what the platform sets and a client cannot (see
// docs/gateway.md for each platform's safe paths).
type Gateway struct{}

// Authenticate implements Authenticator.
func (Gateway) Authenticate(r *http.Request) (*Principal, error) {
	claims, ok := gateway.ClaimsFrom(r.Context())
	if !ok {
		return nil, ErrNoCredentials
	}
	return principalFromClaims(claims, MethodGateway), nil
}

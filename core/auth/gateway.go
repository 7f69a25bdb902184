package auth

import (
	"context"
	"net/http"
)

type gatewayKey struct{}

// WithGatewayClaims returns a copy of ctx carrying the claims of a caller
// that the platform's gateway already authenticated: API Gateway's JWT
// authorizer claims, the claims of an Azure EasyAuth identity. Adapters call
// it; functions read the result through Gateway, only when they choose to
// trust the gateway.
func WithGatewayClaims(ctx context.Context, claims map[string]any) context.Context {
	return context.WithValue(ctx, gatewayKey{}, claims)
}

// Gateway authenticates requests whose caller the platform's gateway already
// verified, mapping the claims onto the same Principal a verified JWT gives.
// Use it only when the function is reachable through that gateway alone: it
// trusts the adapter's claims without checking a signature.
type Gateway struct{}

// Authenticate implements Authenticator.
func (Gateway) Authenticate(r *http.Request) (*Principal, error) {
	claims, ok := r.Context().Value(gatewayKey{}).(map[string]any)
	if !ok || len(claims) == 0 {
		return nil, ErrNoCredentials
	}
	return principalFromClaims(claims, MethodGateway), nil
}

package auth

import (
	"net/http"

	"github.com/polyfn/polyfn/core"
)

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
	claims, ok := core.GatewayClaimsFrom(r.Context())
	if !ok {
		return nil, ErrNoCredentials
	}
	return principalFromClaims(claims, MethodGateway), nil
}

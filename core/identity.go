package core

import "context"

type gatewayClaimsKey struct{}

// WithGatewayClaims returns a copy of ctx carrying the claims of the caller
// that the platform's gateway authenticated for this invocation: API
// Gateway's JWT, Cognito or Lambda authorizer claims
// (requestContext.authorizer) on AWS, the App Service authentication
// identity (X-MS-CLIENT-PRINCIPAL, or the host's Identities) on Azure.
// Adapters call it, only with what the platform itself sets and a client
// cannot; an empty map is not stored.
//
// Functions do not read the claims directly: the auth middleware's Gateway
// authenticator maps them onto a Principal, and only a function that opts
// into trusting its gateway uses it (docs/gateway.md).
func WithGatewayClaims(ctx context.Context, claims map[string]any) context.Context {
	if len(claims) == 0 {
		return ctx
	}
	return context.WithValue(ctx, gatewayClaimsKey{}, claims)
}

// GatewayClaimsFrom returns the gateway's claims in ctx, if an adapter put
// any there.
func GatewayClaimsFrom(ctx context.Context) (map[string]any, bool) {
	c, ok := ctx.Value(gatewayClaimsKey{}).(map[string]any)
	return c, ok && len(c) > 0
}

// Package gateway carries the identity that a cloud's gateway verified from
// the adapter that reads it out of the platform's request to auth.Gateway,
// which trusts it only when a function opts in. It is apart from package
// auth so that adapters pass claims on without linking the JOSE library
// into functions that never authenticate.
//
// Claims get here only from what the platform itself sets: API Gateway's
// requestContext.authorizer on AWS, and on Azure App Service
// authentication's X-MS-CLIENT-PRINCIPAL header (or the host's Identities),
// read only when WEBSITE_AUTH_ENABLED says that authentication runs in front
// of the function (docs/gateway.md).
package gateway

import "context"

type claimsKey struct{}

// WithClaims returns a copy of ctx carrying the claims of a caller that the
// platform's gateway authenticated. Adapters call it; an empty map is not
// stored.
func WithClaims(ctx context.Context, claims map[string]any) context.Context {
	if len(claims) == 0 {
		return ctx
	}
	return context.WithValue(ctx, claimsKey{}, claims)
}

// ClaimsFrom returns the gateway's claims in ctx, if an adapter put any there.
func ClaimsFrom(ctx context.Context) (map[string]any, bool) {
	c, ok := ctx.Value(claimsKey{}).(map[string]any)
	return c, ok && len(c) > 0
}

package awslambda

import (
	"bytes"
	"encoding/json"
	"strings"
)

// gatewayClaims returns the claims of the caller that API Gateway's
// authorizer verified, for auth.Gateway, or nil when no authorizer ran:
//
//   - HTTP API (payload 2.0), JWT authorizer: authorizer.jwt.claims, with
//     authorizer.jwt.scopes as "scope" when the claims carry none;
//   - HTTP API, Lambda authorizer: the context it returned
//     (authorizer.lambda);
//   - REST API (payload 1.0), Cognito user pool authorizer, and an HTTP API
//     JWT authorizer with payload 1.0: authorizer.claims (and
//     authorizer.scopes);
//   - REST API, Lambda authorizer: its context, which API Gateway puts in
//     authorizer beside principalId, which becomes "sub" when the context
//     has none.
//
// API Gateway writes every JWT claim as a string, an array as its elements
// between brackets ("[admins editors]"); those are read back as lists.
//
// The request context is written by API Gateway, never by the client, so
// the claims are as trustworthy as the gateway; only a caller allowed to
// invoke the function directly (lambda:InvokeFunction) can forge a payload.
// IAM authorization (authorizer.iam on HTTP APIs and function URLs) names
// an AWS principal, not a token's claims, and is not mapped; ALB requests
// have no authorizer, and its x-amzn-oidc-* headers are not read.
func (rc *requestContext) gatewayClaims(s shape) map[string]any {
	if len(rc.Authorizer) == 0 || (s != shapeAPIGatewayV2 && s != shapeAPIGatewayV1) {
		return nil
	}
	var a struct {
		JWT *struct {
			Claims map[string]any `json:"claims"`
			Scopes []string       `json:"scopes"`
		} `json:"jwt"`
		Lambda map[string]any `json:"lambda"`
		Claims map[string]any `json:"claims"`
		Scopes []string       `json:"scopes"`
	}
	if json.Unmarshal(rc.Authorizer, &a) != nil {
		if s == shapeAPIGatewayV1 { // a Lambda authorizer's context may have a key "claims" of its own
			return lambdaAuthorizerV1(rc.Authorizer)
		}
		return nil // a shape API Gateway does not send: no identity
	}
	switch {
	case s == shapeAPIGatewayV2 && a.JWT != nil:
		return jwtClaims(a.JWT.Claims, a.JWT.Scopes)
	case s == shapeAPIGatewayV2:
		return nonEmpty(a.Lambda)
	case a.Claims != nil:
		return jwtClaims(a.Claims, a.Scopes)
	}
	return lambdaAuthorizerV1(rc.Authorizer)
}

// jwtClaims reads the claims of a verified JWT as API Gateway passes them.
func jwtClaims(in map[string]any, scopes []string) map[string]any {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]any, len(in)+1)
	for k, v := range in {
		if s, ok := v.(string); ok {
			v = bracketList(s)
		}
		out[k] = v
	}
	_, hasScope := out["scope"]
	_, hasScp := out["scp"]
	if len(scopes) > 0 && !hasScope && !hasScp {
		out["scope"] = strings.Join(scopes, " ")
	}
	return out
}

// bracketList reads API Gateway's form of an array claim, "[a b c]", as a
// list; any other string is returned as it is.
func bracketList(s string) any {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		return s
	}
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return s
	}
	fields := strings.Fields(inner)
	list := make([]any, len(fields))
	for i, f := range fields {
		list[i] = f
	}
	return list
}

// lambdaAuthorizerV1 reads a REST API Lambda authorizer's output: its
// context's keys beside principalId and integrationLatency.
func lambdaAuthorizerV1(raw json.RawMessage) map[string]any {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return nil
	}
	principal, _ := m["principalId"].(string)
	delete(m, "principalId")
	delete(m, "integrationLatency")
	if _, ok := m["sub"]; !ok && principal != "" {
		m["sub"] = principal
	}
	return nonEmpty(m)
}

func nonEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

package azurefunctions

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// App Service authentication ("Easy Auth") runs in front of the Functions
// host. For a request it authenticated it sets X-MS-CLIENT-PRINCIPAL, and
// it removes that header from every request it passes on, so that only it
// can set it; the host's Identities come from the same principal. Without
// it nothing removes the header, so a client could send its own: the
// handler reads either only when WEBSITE_AUTH_ENABLED, which App Service
// sets in the app's environment when its authentication is on, is true
// when New runs.

// clientPrincipalHeader is the header App Service authentication sets: the
// base64 JSON of the caller's claims.
const clientPrincipalHeader = "X-Ms-Client-Principal"

// The claim types .NET's default claim mapping gives the JWT claims that
// auth.Gateway reads: App Service passes claims after that mapping.
const (
	claimTypeNameIdentifier = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier" // sub
	claimTypeScope          = "http://schemas.microsoft.com/identity/claims/scope"                   // scp
	claimTypeRole           = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"         // roles
)

// authLevelIdentity is the authentication type of the identity the host
// gives a request that presented a function or host key: a key, not a caller.
const authLevelIdentity = "WebJobsAuthLevel"

// appServiceAuthEnabled reports whether env's WEBSITE_AUTH_ENABLED is true.
func appServiceAuthEnabled(env core.Env) bool {
	on, err := strconv.ParseBool(strings.TrimSpace(env("WEBSITE_AUTH_ENABLED")))
	return err == nil && on
}

// claim is one claim as App Service writes it ({"typ","val"}) and as the
// host serializes a .NET Claim ({"Type","Value",…}; names match without
// regard to case).
type claim struct {
	Typ   string `json:"typ"`
	Val   string `json:"val"`
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// clientPrincipal is the decoded X-MS-CLIENT-PRINCIPAL header.
type clientPrincipal struct {
	AuthType string  `json:"auth_typ"`
	Claims   []claim `json:"claims"`
	NameType string  `json:"name_typ"`
	RoleType string  `json:"role_typ"`
}

// clientPrincipalClaims decodes an X-MS-CLIENT-PRINCIPAL header into
// claims for auth.Gateway, or nil when it is absent or malformed.
func clientPrincipalClaims(header string) map[string]any {
	if header == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimSpace(header)); err != nil {
			return nil
		}
	}
	var p clientPrincipal
	if json.Unmarshal(b, &p) != nil {
		return nil
	}
	return claimsOf(p.Claims, p.RoleType)
}

// claimsIdentity is one of the host's Identities: a .NET ClaimsIdentity as
// Json.NET serializes it.
type claimsIdentity struct {
	AuthenticationType string  `json:"AuthenticationType"`
	IsAuthenticated    bool    `json:"IsAuthenticated"`
	Claims             []claim `json:"Claims"`
	RoleClaimType      string  `json:"RoleClaimType"`
}

// identitiesClaims returns the claims of the first authenticated identity
// in the host's Identities that is not a function key's, or nil.
func identitiesClaims(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var ids []claimsIdentity
	if json.Unmarshal(raw, &ids) != nil {
		return nil
	}
	for _, id := range ids {
		if !id.IsAuthenticated || id.AuthenticationType == "" || id.AuthenticationType == authLevelIdentity {
			continue
		}
		if c := claimsOf(id.Claims, id.RoleClaimType); c != nil {
			return c
		}
	}
	return nil
}

// claimsOf turns a list of claims into the map auth.Gateway reads: a claim
// type that occurs once gives a string, one that repeats a list. The mapped
// types of sub, scp and roles (and the principal's own role type) are also
// given their JWT names, where the list has no claim of that name.
func claimsOf(list []claim, roleType string) map[string]any {
	out := map[string]any{}
	add := func(k, v string) {
		switch old := out[k].(type) {
		case nil:
			out[k] = v
		case string:
			out[k] = []any{old, v}
		case []any:
			out[k] = append(old, v)
		}
	}
	for _, c := range list {
		typ, val := c.Typ, c.Val
		if typ == "" {
			typ, val = c.Type, c.Value
		}
		if typ != "" {
			add(typ, val)
		}
	}
	if len(out) == 0 {
		return nil
	}
	alias := func(jwtName, mapped string) {
		if _, ok := out[jwtName]; !ok && mapped != "" && mapped != jwtName {
			if v, ok := out[mapped]; ok {
				out[jwtName] = v
			}
		}
	}
	alias("sub", claimTypeNameIdentifier)
	alias("scp", claimTypeScope)
	alias("roles", roleType)
	alias("roles", claimTypeRole)
	return out
}

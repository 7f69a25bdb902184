package azurefunctions

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzClientPrincipal: any X-MS-CLIENT-PRINCIPAL value or Identities JSON
// gives claims or nil, never a panic, and claims always name something.
func FuzzClientPrincipal(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"auth_typ":"aad","claims":[{"typ":"sub","val":"a"},{"typ":"roles","val":"x"},{"typ":"roles","val":"y"}],"role_typ":"roles"}`)))
	f.Add(`[{"AuthenticationType":"aad","IsAuthenticated":true,"Claims":[{"Type":"sub","Value":"a"}]}]`)
	f.Add(`[{"AuthenticationType":"WebJobsAuthLevel","IsAuthenticated":true,"Claims":[{"Type":"k","Value":"v"}]}]`)
	f.Add("e30=")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []map[string]any{clientPrincipalClaims(s), identitiesClaims(json.RawMessage(s))} {
			if c != nil && len(c) == 0 {
				t.Errorf("empty claims for %q: want nil", s)
			}
		}
	})
}

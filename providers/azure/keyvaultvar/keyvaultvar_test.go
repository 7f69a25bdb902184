package keyvaultvar_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"gocloud.dev/gcerrors"
	"gocloud.dev/runtimevar"

	"github.com/polyfn/polyfn/providers/azure/keyvaultvar"
)

// fakeVault is a hand-written stand-in for the Key Vault secrets REST API,
// as documented in "Get Secret" (GET {vault}/secrets/{name}/{version}
// ?api-version=…) and "Authentication, requests and responses": a request
// without a bearer token gets a 401 with the WWW-Authenticate challenge that
// names the tenant and resource; a secret is a JSON secret bundle; a failure
// is a JSON error with a code. No Key Vault emulator exists, so this covers
// the protocol the azsecrets client speaks, and nothing more.
type fakeVault struct {
	srv   *httptest.Server
	token string // the bearer token the vault accepts
	gets  atomic.Int64

	mu       sync.Mutex
	secrets  map[string][]version // by name, oldest first
	disabled map[string]bool
}

type version struct {
	id, value string
	updated   time.Time
}

const (
	tenant    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	challenge = `Bearer authorization="https://login.microsoftonline.com/` + tenant + `", resource="https://vault.azure.net"`
)

func newFakeVault(t *testing.T) *fakeVault {
	t.Helper()
	v := &fakeVault{token: "vault-token", secrets: map[string][]version{}, disabled: map[string]bool{}}
	v.srv = httptest.NewTLSServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.srv.Close)
	return v
}

// set adds a new version of the secret name.
func (v *fakeVault) set(name, id, value string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.secrets[name] = append(v.secrets[name], version{id: id, value: value, updated: time.Unix(1_700_000_000+int64(len(v.secrets[name])), 0).UTC()})
}

func (v *fakeVault) disable(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.disabled[name] = true
}

func (v *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		vaultError(w, http.StatusBadRequest, "BadParameter", "The request URI contains an invalid api-version.")
		return
	}
	switch r.Header.Get("Authorization") {
	case "":
		w.Header().Set("WWW-Authenticate", challenge)
		vaultError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	case "Bearer " + v.token:
	default:
		vaultError(w, http.StatusForbidden, "Forbidden", "The user, group or application does not have secrets get permission.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/secrets/")
	if r.Method != http.MethodGet || !ok {
		vaultError(w, http.StatusBadRequest, "BadParameter", "Unsupported operation.")
		return
	}
	v.gets.Add(1)
	name, id, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	v.mu.Lock()
	versions, disabled := v.secrets[name], v.disabled[name]
	v.mu.Unlock()
	var found *version
	for i := range versions {
		if id == "" || versions[i].id == id {
			found = &versions[i]
		}
	}
	switch {
	case found == nil:
		vaultError(w, http.StatusNotFound, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault.", rest))
	case disabled:
		vaultError(w, http.StatusForbidden, "Forbidden", "Operation get is not allowed on a disabled secret.")
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"value": found.value,
			"id":    "https://" + r.Host + "/secrets/" + name + "/" + found.id,
			"attributes": map[string]any{
				"enabled": true, "created": found.updated.Unix(), "updated": found.updated.Unix(),
				"recoveryLevel": "Recoverable+Purgeable",
			},
			"tags": map[string]string{},
		})
	}
}

func vaultError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// credential is a fake azcore.TokenCredential that hands out a fixed token
// and records what the client asked for.
type credential struct {
	token string

	mu       sync.Mutex
	requests []policy.TokenRequestOptions
}

func (c *credential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, opts)
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// opener returns a URLOpener whose clients reach the fake vault with cred.
func (v *fakeVault) opener(cred azcore.TokenCredential) *keyvaultvar.URLOpener {
	return &keyvaultvar.URLOpener{ClientMaker: func(vaultURL string) (*azsecrets.Client, error) {
		if want := "https://" + v.host() + "/"; vaultURL != want {
			return nil, fmt.Errorf("vault URL %q, want %q", vaultURL, want)
		}
		return azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{
			ClientOptions: azcore.ClientOptions{Transport: v.srv.Client()},
			// The challenge names vault.azure.net; this vault is 127.0.0.1.
			DisableChallengeResourceVerification: true,
		})
	}}
}

func (v *fakeVault) host() string { return strings.TrimPrefix(v.srv.URL, "https://") }

// open opens the variable at the URL with path and query on the fake vault.
func (v *fakeVault) open(t *testing.T, cred azcore.TokenCredential, pathAndQuery string) *runtimevar.Variable {
	t.Helper()
	u, err := url.Parse(keyvaultvar.Scheme + "://" + v.host() + pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := v.opener(cred).OpenVariableURL(t.Context(), u)
	if err != nil {
		t.Fatalf("OpenVariableURL(%s): %v", u, err)
	}
	t.Cleanup(func() { vr.Close() })
	return vr
}

func latest(t *testing.T, v *runtimevar.Variable) (runtimevar.Snapshot, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return v.Latest(ctx)
}

func TestReadsTheLatestVersion(t *testing.T) {
	vault := newFakeVault(t)
	vault.set("db-password", "v1", "hunter2")
	cred := &credential{token: vault.token}
	v := vault.open(t, cred, "/secrets/db-password?decoder=string&wait=10ms")

	snap, err := latest(t, v)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Value != "hunter2" {
		t.Errorf("Value: got %q, want %q", snap.Value, "hunter2")
	}
	if want := time.Unix(1_700_000_000, 0).UTC(); !snap.UpdateTime.Equal(want) {
		t.Errorf("UpdateTime: got %v, want %v (the secret's updated attribute)", snap.UpdateTime, want)
	}
	var resp azsecrets.GetSecretResponse
	if !snap.As(&resp) || resp.ID.Version() != "v1" {
		t.Errorf("As(*azsecrets.GetSecretResponse): version %q, want v1", resp.ID.Version())
	}

	// The client found the tenant and scope in the vault's challenge.
	cred.mu.Lock()
	reqs := cred.requests
	cred.mu.Unlock()
	if len(reqs) == 0 || reqs[0].TenantID != tenant || len(reqs[0].Scopes) != 1 || reqs[0].Scopes[0] != "https://vault.azure.net/.default" {
		t.Errorf("token requests: got %+v, want tenant %s and scope https://vault.azure.net/.default", reqs, tenant)
	}

	// A new version is picked up by the background poll.
	vault.set("db-password", "v2", "correct horse battery staple")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		snap, err := v.Watch(ctx)
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		if snap.Value == "correct horse battery staple" {
			break
		}
	}
}

func TestPinnedVersion(t *testing.T) {
	vault := newFakeVault(t)
	vault.set("api-key", "v1", "old")
	vault.set("api-key", "v2", "new")
	v := vault.open(t, &credential{token: vault.token}, "/secrets/api-key/v1?decoder=string")
	snap, err := latest(t, v)
	if err != nil || snap.Value != "old" {
		t.Fatalf("Latest: got %q, %v; want %q", snap.Value, err, "old")
	}
}

// TestUnchangedIsNoChange proves that polls which find the same value, or
// the same failure, are not reported as changes.
func TestUnchangedIsNoChange(t *testing.T) {
	vault := newFakeVault(t)
	vault.set("same", "v1", "value")
	for _, tc := range []struct{ name, secret string }{{"value", "same"}, {"failure", "missing"}} {
		t.Run(tc.name, func(t *testing.T) {
			v := vault.open(t, &credential{token: vault.token}, "/secrets/"+tc.secret+"?wait=5ms")
			if _, err := v.Watch(t.Context()); err != nil && tc.name == "value" {
				t.Fatal(err)
			}
			before := vault.gets.Load()
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			if snap, err := v.Watch(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("second Watch: got %v, %v; want no change until the deadline", snap.Value, err)
			}
			if polls := vault.gets.Load() - before; polls < 2 {
				t.Errorf("the vault was read %d times while watching, want several", polls)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	vault := newFakeVault(t)
	vault.set("off", "v1", "value")
	vault.disable("off")
	vault.set("not-json", "v1", "s3cr3t-not-json")
	tests := []struct {
		name, path string
		token      string
		wantCode   gcerrors.ErrorCode
		wantAzure  string // the Key Vault error code, when the vault answered with one
	}{
		{"missing secret", "/secrets/missing", vault.token, gcerrors.NotFound, "SecretNotFound"},
		{"disabled secret", "/secrets/off", vault.token, gcerrors.PermissionDenied, "Forbidden"},
		{"token refused", "/secrets/off", "someone-else", gcerrors.PermissionDenied, "Forbidden"},
		{"value does not decode", "/secrets/not-json?decoder=jsonmap", vault.token, gcerrors.Unknown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := vault.open(t, &credential{token: tc.token}, tc.path)
			_, err := v.Watch(t.Context()) // the first Watch returns the first read's result
			if err == nil {
				t.Fatal("Watch: got no error")
			}
			if got := gcerrors.Code(err); got != tc.wantCode {
				t.Errorf("code: got %v, want %v (%v)", got, tc.wantCode, err)
			}
			var re *azcore.ResponseError
			if got := v.ErrorAs(err, &re); got != (tc.wantAzure != "") || (got && re.ErrorCode != tc.wantAzure) {
				t.Errorf("ErrorAs(*azcore.ResponseError): %v %+v, want Key Vault code %q", got, re, tc.wantAzure)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error quotes the secret's value: %v", err)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	vault := newFakeVault(t)
	vault.set("name", "abc123", "value")
	tests := []struct {
		name, url string
		wantErr   string // "" for success
	}{
		{"latest", "/secrets/name", ""},
		{"trailing slash", "/secrets/name/", ""},
		{"version", "/secrets/name/abc123", ""},
		{"decoder and wait", "/secrets/name?decoder=string&wait=1m", ""},
		{"not a secret", "/keys/name", "want azurekeyvaultvar://<vault host>/secrets/<name>[/<version>]"},
		{"no name", "/secrets/", "want azurekeyvaultvar://"},
		{"bad name", "/secrets/under_score", "want azurekeyvaultvar://"},
		{"unknown parameter", "/secrets/name?region=x", `invalid query parameter "region"`},
		{"bad decoder", "/secrets/name?decoder=yaml", "invalid decoder"},
		{"bad wait", "/secrets/name?wait=soon", `invalid wait "soon"`},
	}
	mux := new(runtimevar.URLMux)
	mux.RegisterVariable(keyvaultvar.Scheme, vault.opener(&credential{token: vault.token}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := mux.OpenVariable(t.Context(), keyvaultvar.Scheme+"://"+vault.host()+tc.url)
			if err == nil {
				defer v.Close()
				_, err = latest(t, v)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	t.Run("no host", func(t *testing.T) {
		if _, err := mux.OpenVariable(t.Context(), keyvaultvar.Scheme+":///secrets/name"); err == nil {
			t.Error("got no error for a URL without a vault")
		}
	})
}

// TestRegistered proves the default mux knows the scheme, so that a blank
// import of the package is all a build needs.
func TestRegistered(t *testing.T) {
	if !runtimevar.DefaultURLMux().ValidVariableScheme(keyvaultvar.Scheme) {
		t.Errorf("%s:// is not registered on runtimevar.DefaultURLMux", keyvaultvar.Scheme)
	}
}

// FuzzURL feeds the opener arbitrary URLs, which come from the environment:
// it must not panic, and every URL it accepts must name a vault and a secret.
func FuzzURL(f *testing.F) {
	f.Add("azurekeyvaultvar://v.vault.azure.net/secrets/db-password?decoder=string&wait=1m")
	f.Add("azurekeyvaultvar://v.vault.azure.net/secrets/db-password/4387e9f3d6e14c459867679a90fd0f79")
	f.Add("azurekeyvaultvar:///secrets/x")
	f.Add("azurekeyvaultvar://v/keys/k?wait=-1s")
	errNoClient := errors.New("no client while fuzzing")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		var vaultURL string
		o := &keyvaultvar.URLOpener{ClientMaker: func(v string) (*azsecrets.Client, error) {
			vaultURL = v
			return nil, errNoClient
		}}
		if _, err := o.OpenVariableURL(context.Background(), u); !errors.Is(err, errNoClient) {
			return // rejected before a client was made
		}
		if u.Host == "" || vaultURL != "https://"+u.Host+"/" || !strings.HasPrefix(u.Path, "/secrets/") {
			t.Fatalf("accepted %q with vault %q", raw, vaultURL)
		}
	})
}

// Package keyvaultvar is a gocloud.dev runtimevar driver that reads a secret
// from Azure Key Vault, for secret values such as API keys and passwords.
// gocloud.dev has drivers for AWS Secrets Manager and GCP Secret Manager but
// none for Key Vault secrets (its azurekeyvault package is a secrets.Keeper
// for Key Vault keys, which encrypt and decrypt and hold no value).
//
// # URLs
//
// For runtimevar.OpenVariable, keyvaultvar registers the scheme
// "azurekeyvaultvar". A URL is the secret's Key Vault identifier with that
// scheme in place of https:
//
//	azurekeyvaultvar://myvault.vault.azure.net/secrets/db-password?decoder=string
//	azurekeyvaultvar://myvault.vault.azure.net/secrets/db-password/4387e9f3d6e14c459867679a90fd0f79
//
// Without a version the variable follows the latest version. The default
// opener authenticates with azidentity.DefaultAzureCredential (a managed
// identity in Azure Functions); see URLOpener for the query parameters.
//
// # As
//
// keyvaultvar exposes the following types for As:
//   - Snapshot: azsecrets.GetSecretResponse
//   - Error: *azcore.ResponseError, *azidentity.AuthenticationFailedError
package keyvaultvar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"gocloud.dev/gcerrors"
	"gocloud.dev/runtimevar"
	"gocloud.dev/runtimevar/driver"
)

// Scheme is the URL scheme keyvaultvar registers on runtimevar.DefaultURLMux.
const Scheme = "azurekeyvaultvar"

func init() {
	runtimevar.DefaultURLMux().RegisterVariable(Scheme, &URLOpener{})
}

// ClientMaker returns a client for the vault at vaultURL
// ("https://myvault.vault.azure.net/").
type ClientMaker func(vaultURL string) (*azsecrets.Client, error)

// defaultCredential is shared by every variable the default opener opens, so
// that they share its token cache: one managed-identity token, not one per
// secret.
var defaultCredential = sync.OnceValues(func() (azcore.TokenCredential, error) {
	return azidentity.NewDefaultAzureCredential(nil)
})

// DefaultClientMaker makes a client that authenticates with
// azidentity.DefaultAzureCredential: environment variables, a workload or
// managed identity, or the Azure CLI's login.
func DefaultClientMaker(vaultURL string) (*azsecrets.Client, error) {
	cred, err := defaultCredential()
	if err != nil {
		return nil, fmt.Errorf("keyvaultvar: Azure credentials: %w", err)
	}
	return azsecrets.NewClient(vaultURL, cred, nil)
}

// URLOpener opens azurekeyvaultvar URLs. The query parameters are:
//   - decoder: how the secret's value is decoded (runtimevar.DecoderByName:
//     bytes, string, jsonmap); default URLOpener.Decoder, or bytes.
//   - wait: how often Key Vault is polled for a new value
//     (time.ParseDuration); default Options.WaitDuration, or 30s.
type URLOpener struct {
	// ClientMaker makes the vault's client; nil means DefaultClientMaker.
	ClientMaker ClientMaker
	// Decoder decodes the value when the URL names no decoder; nil means
	// runtimevar.BytesDecoder.
	Decoder *runtimevar.Decoder
	// Options are the defaults for what the URL does not set.
	Options Options
}

// secretPath matches the path of a secret identifier: /secrets/name or
// /secrets/name/version. Key Vault names secrets with 1 to 127 letters,
// digits and hyphens.
var secretPath = regexp.MustCompile(`^/secrets/([0-9A-Za-z-]{1,127})(?:/([0-9A-Za-z]+))?/?$`)

// OpenVariableURL opens the variable that u names.
func (o *URLOpener) OpenVariableURL(ctx context.Context, u *url.URL) (*runtimevar.Variable, error) {
	m := secretPath.FindStringSubmatch(u.Path)
	if u.Host == "" || m == nil {
		return nil, fmt.Errorf("open variable %v: want %s://<vault host>/secrets/<name>[/<version>]", u, Scheme)
	}
	q := u.Query()
	decoder, err := runtimevar.DecoderByName(ctx, q.Get("decoder"), o.Decoder)
	if err != nil {
		return nil, fmt.Errorf("open variable %v: invalid decoder: %w", u, err)
	}
	q.Del("decoder")
	opts := o.Options
	if s := q.Get("wait"); s != "" {
		if opts.WaitDuration, err = time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("open variable %v: invalid wait %q: %w", u, s, err)
		}
	}
	q.Del("wait")
	for param := range q {
		return nil, fmt.Errorf("open variable %v: invalid query parameter %q", u, param)
	}
	makeClient := o.ClientMaker
	if makeClient == nil {
		makeClient = DefaultClientMaker
	}
	client, err := makeClient("https://" + u.Host + "/")
	if err != nil {
		return nil, fmt.Errorf("open variable %v: %w", u, err)
	}
	return OpenVariable(client, m[1], m[2], decoder, &opts)
}

// Options are a variable's settings.
type Options struct {
	// WaitDuration is how often Key Vault is polled for a new value; zero
	// means 30 seconds. Key Vault allows a few thousand reads per vault every
	// ten seconds, shared by every instance of every function that polls it.
	WaitDuration time.Duration
}

// OpenVariable returns a variable holding the secret name of the vault that
// client reads, at version, or the latest version when version is "". A nil
// decoder means runtimevar.BytesDecoder; nil opts means defaults.
func OpenVariable(client *azsecrets.Client, name, version string, decoder *runtimevar.Decoder, opts *Options) (*runtimevar.Variable, error) {
	if client == nil {
		return nil, errors.New("keyvaultvar: a client is required")
	}
	if name == "" {
		return nil, errors.New("keyvaultvar: a secret name is required")
	}
	if decoder == nil {
		decoder = runtimevar.BytesDecoder
	}
	if opts == nil {
		opts = &Options{}
	}
	return runtimevar.New(&watcher{
		client:  client,
		name:    name,
		version: version,
		decoder: decoder,
		wait:    driver.WaitDuration(opts.WaitDuration),
	}), nil
}

// watcher polls one secret.
type watcher struct {
	client        *azsecrets.Client
	name, version string
	decoder       *runtimevar.Decoder
	wait          time.Duration
}

var _ driver.Watcher = (*watcher)(nil)

// state is a value read, or the error of a failed read.
type state struct {
	val     any
	raw     []byte
	resp    azsecrets.GetSecretResponse
	updated time.Time
	err     error
}

func (s *state) Value() (any, error)   { return s.val, s.err }
func (s *state) UpdateTime() time.Time { return s.updated }

func (s *state) As(i any) bool {
	p, ok := i.(*azsecrets.GetSecretResponse)
	if !ok || s.err != nil {
		return false
	}
	*p = s.resp
	return true
}

// WatchVariable reads the secret. It returns nil, the "no change" answer,
// when the value or the error is the one prev holds, so that runtimevar
// neither wakes its watchers nor records a change.
func (w *watcher) WatchVariable(ctx context.Context, prev driver.State) (driver.State, time.Duration) {
	resp, err := w.client.GetSecret(ctx, w.name, w.version, nil)
	if err != nil {
		return errorState(err, prev), w.wait
	}
	if resp.Value == nil {
		return errorState(fmt.Errorf("keyvaultvar: secret %q has no value", w.name), prev), w.wait
	}
	raw := []byte(*resp.Value)
	if p, ok := prev.(*state); ok && p.err == nil && bytes.Equal(p.raw, raw) {
		return nil, w.wait
	}
	val, err := w.decoder.Decode(ctx, raw)
	if err != nil {
		// The decoder's message is kept out: it may quote the value.
		return errorState(fmt.Errorf("keyvaultvar: secret %q does not decode as the URL's decoder asks", w.name), prev), w.wait
	}
	s := &state{val: val, raw: raw, resp: resp}
	if a := resp.Attributes; a != nil && a.Updated != nil {
		s.updated = *a.Updated
	}
	return s, w.wait
}

// errorState returns a state holding err, or nil when prev holds the same
// failure: polling a missing secret every wait must not look like a change.
func errorState(err error, prev driver.State) driver.State {
	if p, ok := prev.(*state); ok && p.err != nil && sameFailure(p.err, err) {
		return nil
	}
	return &state{err: err}
}

func sameFailure(a, b error) bool {
	var ra, rb *azcore.ResponseError
	if errors.As(a, &ra) && errors.As(b, &rb) {
		return ra.StatusCode == rb.StatusCode && ra.ErrorCode == rb.ErrorCode
	}
	return a.Error() == b.Error()
}

func (w *watcher) Close() error { return nil }

func (w *watcher) ErrorAs(err error, i any) bool { return errors.As(err, i) }

// codeOfStatus maps Key Vault's HTTP statuses to gocloud codes.
var codeOfStatus = map[int]gcerrors.ErrorCode{
	400: gcerrors.InvalidArgument,
	401: gcerrors.PermissionDenied,
	403: gcerrors.PermissionDenied, // also a disabled secret
	404: gcerrors.NotFound,
	408: gcerrors.DeadlineExceeded,
	429: gcerrors.ResourceExhausted,
	500: gcerrors.Internal,
	501: gcerrors.Unimplemented,
}

func (w *watcher) ErrorCode(err error) gcerrors.ErrorCode {
	var re *azcore.ResponseError
	var authErr *azidentity.AuthenticationFailedError
	switch {
	case errors.As(err, &re):
		if c, ok := codeOfStatus[re.StatusCode]; ok {
			return c
		}
	case errors.As(err, &authErr):
		return gcerrors.PermissionDenied
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	return gcerrors.Unknown
}

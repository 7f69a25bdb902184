package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWTOptions configure a JWT verifier.
type JWTOptions struct {
	// Issuer is the expected "iss", and the OIDC issuer whose discovery
	// document (<Issuer>/.well-known/openid-configuration) names the keys.
	// Required.
	Issuer string
	// Audience lists accepted "aud" values; a token must carry one. Required.
	Audience []string
	// JWKSURL, when set, is where the keys are fetched instead of
	// discovery: https://, http:// or file:// (tests, air-gapped set-ups).
	JWKSURL string
	// Algorithms is the allow-list of signature algorithms; default RS256,
	// RS384, RS512, PS256, ES256, ES384, EdDSA. "none" and HMAC algorithms
	// are never accepted: a verifier holding public keys must not treat one
	// as a shared secret.
	Algorithms []jose.SignatureAlgorithm
	// Leeway is the clock skew allowed on exp, nbf and iat; default 30s.
	Leeway time.Duration
	// RefreshInterval is how long fetched keys are used before they are
	// fetched again; default 1h. A token signed with an unknown key id
	// triggers a fetch at once, at most once per MinRefreshInterval.
	RefreshInterval time.Duration
	// MinRefreshInterval bounds fetches caused by unknown key ids, so a
	// flood of forged tokens cannot hammer the issuer, and retries of a
	// failed fetch; default 10s.
	MinRefreshInterval time.Duration
	// Client fetches discovery and keys; default a client with a 10s timeout.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

var defaultAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}

// JWTVerifier verifies bearer tokens against an issuer's keys, with
// github.com/coreos/go-oidc: its discovery (oidc.NewProvider), its key cache
// (oidc.RemoteKeySet, which fetches the key set again when a token names a
// key it does not hold, one fetch for every verification waiting on it) and
// its signature, algorithm and issuer checks. Around them the verifier adds
// what an API gateway needs and go-oidc leaves to its caller: keys are
// fetched on the first token (so a function's start never waits for the
// network), or ahead of it by Prefetch; fetches caused by unknown key ids and
// retries after a failure are bounded by MinRefreshInterval; cached keys are
// fetched again after RefreshInterval, and kept while the issuer is down;
// several audiences; exp, nbf and iat checked with Leeway (go-oidc allows a
// fixed five minutes on nbf and none on exp).
type JWTVerifier struct {
	opts JWTOptions
	algs []string

	mu      sync.Mutex
	set     *keySet   // nil before the first successful fetch
	fetched time.Time // when set was fetched
	failed  time.Time // when discovery or a fetch last failed
	lastErr error
	jwksURL string // resolved from discovery on first use

	fmu    sync.Mutex
	forced time.Time // when an unknown key id last caused a fetch
}

// NewJWTVerifier checks opts and returns a verifier.
func NewJWTVerifier(opts JWTOptions) (*JWTVerifier, error) {
	if opts.Issuer == "" {
		return nil, errors.New("auth: JWT issuer is required")
	}
	if len(opts.Audience) == 0 {
		return nil, errors.New("auth: JWT audience is required")
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = defaultAlgorithms
	}
	algs := make([]string, len(opts.Algorithms))
	for i, a := range opts.Algorithms {
		if a == "none" || strings.HasPrefix(string(a), "HS") {
			return nil, fmt.Errorf("auth: algorithm %s is not allowed for verification with public keys", a)
		}
		algs[i] = string(a)
	}
	if opts.Leeway <= 0 {
		opts.Leeway = 30 * time.Second
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = time.Hour
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &JWTVerifier{opts: opts, algs: algs, jwksURL: opts.JWKSURL}, nil
}

// errInvalidToken marks every rejection of a presented token: the
// middleware answers it with error="invalid_token".
var errInvalidToken = errors.New("invalid token")

// Verify checks token's signature, algorithm, issuer, audience and times,
// and returns its principal. A rejected token's error wraps errInvalidToken
// (the caller's fault); a failure to obtain the keys does not (ours).
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Principal, error) {
	set, err := v.keys(ctx)
	if err != nil {
		return nil, err
	}
	// The key set reports a failure to fetch keys here: go-oidc's verifier
	// returns it only as text, which cannot tell it from a bad signature.
	var fetchErr error
	tok, err := set.verifier.Verify(context.WithValue(ctx, fetchErrKey{}, &fetchErr), token)
	switch {
	case errors.Is(fetchErr, errRefreshLimited):
		return nil, fmt.Errorf("%w: unknown key id %q", errInvalidToken, keyID(token))
	case fetchErr != nil:
		return nil, keysError(fetchErr)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errInvalidToken, strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(&std); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidToken, err)
	}
	if err := tok.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidToken, err)
	}
	if std.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp claim", errInvalidToken)
	}
	expected := jwt.Expected{Issuer: v.opts.Issuer, AnyAudience: v.opts.Audience, Time: v.opts.Now()}
	if err := std.ValidateWithLeeway(expected, v.opts.Leeway); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidToken, err)
	}
	return principalFromClaims(all, MethodJWT), nil
}

// keyID returns the "kid" of a compact JWS, for messages.
func keyID(token string) string {
	sig, err := jose.ParseSigned(token, allAlgorithms)
	if err != nil || len(sig.Signatures) == 0 {
		return ""
	}
	return sig.Signatures[0].Header.KeyID
}

var allAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// Prefetch fetches the issuer's keys now unless they are cached, so that
// the first token need not wait for discovery and the key set. A function
// calls it in a goroutine from its init hook: the fetch then overlaps the
// rest of the cold start, and a token that arrives meanwhile waits for this
// one fetch instead of making its own. A failure is returned but not
// remembered: the first token tries again at once.
func (v *JWTVerifier) Prefetch(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.set != nil {
		return nil
	}
	failed, lastErr := v.failed, v.lastErr
	err := v.fetchLocked(ctx, v.opts.Now())
	if err != nil {
		v.failed, v.lastErr = failed, lastErr
	}
	return err
}

// keys returns the key set, fetching it on first use and again when it is
// older than RefreshInterval. Fetches happen under the lock, so concurrent
// verifications wait for one fetch rather than each making their own.
func (v *JWTVerifier) keys(ctx context.Context) (*keySet, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.opts.Now()
	if v.set == nil || now.Sub(v.fetched) > v.opts.RefreshInterval {
		if err := v.fetchLocked(ctx, now); err != nil && v.set == nil {
			return nil, err
		} // else: keep serving the stale keys while the issuer is down
	}
	return v.set, nil
}

// fetchLocked resolves the key set's URL by discovery, if need be, and
// fetches a new key set, which replaces the cached one only when the fetch
// succeeds. After a failure it fails at once, with the same error, until
// MinRefreshInterval has passed: a down issuer costs one slow request per
// interval, not one per token.
func (v *JWTVerifier) fetchLocked(ctx context.Context, now time.Time) (err error) {
	if !v.failed.IsZero() && now.Sub(v.failed) < v.opts.MinRefreshInterval {
		return v.lastErr
	}
	defer func() {
		if err != nil {
			v.failed, v.lastErr = now, err
		}
	}()
	// opts.Client makes the requests (and bounds them with its timeout).
	client := &http.Client{Transport: fetcher{v.opts.Client, nil}}
	if v.jwksURL == "" {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), v.opts.Issuer)
		if err != nil {
			return fmt.Errorf("auth: OIDC discovery: %w", err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
			return fmt.Errorf("auth: OIDC discovery of %q names no jwks_uri", v.opts.Issuer)
		}
		v.jwksURL = doc.JWKSURI
	}
	set := &keySet{}
	// The key set keeps this context for its own fetches: the client, and
	// no cancellation (go-oidc drops it).
	client = &http.Client{Transport: fetcher{v.opts.Client, set.gate(v)}}
	set.remote = oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), client), v.jwksURL)
	set.verifier = oidc.NewVerifier(v.opts.Issuer, set, &oidc.Config{
		SupportedSigningAlgs: v.algs,
		// Verify checks the audiences (any of several) and the times
		// (with Leeway) itself.
		SkipClientIDCheck: true,
		SkipExpiryCheck:   true,
		Now:               v.opts.Now,
	})
	if err := set.load(ctx); err != nil {
		return err
	}
	v.set, v.fetched = set, now
	return nil
}

// keySet is one go-oidc remote key set and the verifier on it. Its first
// fetch is made by load; every later one is go-oidc's answer to a token
// whose key it does not hold, which gate bounds.
type keySet struct {
	remote   *oidc.RemoteKeySet
	verifier *oidc.IDTokenVerifier
	loaded   bool // guarded by the verifier's fmu
}

type fetchErrKey struct{}

// errRefreshLimited refuses a fetch caused by an unknown key id within
// MinRefreshInterval of the previous one.
var errRefreshLimited = errors.New("auth: key set fetched too recently")

// fetchError is a failure to obtain a document: the issuer's fault or the
// network's, never the token's.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// VerifySignature implements oidc.KeySet. A failure to fetch the keys
// (or a fetch refused by the gate, or the caller's context ending while it
// waits for one) is also put where Verify and load look for it.
func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, token)
	var fe *fetchError
	if err != nil && (errors.As(err, &fe) || errors.Is(err, errRefreshLimited) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		if slot, ok := ctx.Value(fetchErrKey{}).(*error); ok {
			*slot = err
		}
	}
	return payload, err
}

// keysError is the error of a failed fetch, without go-oidc's layers.
func keysError(err error) error {
	var fe *fetchError
	switch {
	case errors.As(err, &fe):
		return fmt.Errorf("auth: fetching JWKS: %w", fe.err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("auth: fetching JWKS: %w", context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("auth: fetching JWKS: %w", context.Canceled)
	}
	return fmt.Errorf("auth: fetching JWKS: %w", err)
}

// probe is a well-formed JWS that no key verifies: verifying it makes an
// empty go-oidc key set fetch its keys, which RemoteKeySet offers no other
// way to do.
const probe = "eyJhbGciOiJSUzI1NiIsImtpZCI6InBvbHlmbi1wcm9iZSJ9.e30.AA"

// load makes the set's first fetch.
func (k *keySet) load(ctx context.Context) error {
	var fetchErr error
	_, err := k.VerifySignature(context.WithValue(ctx, fetchErrKey{}, &fetchErr), probe)
	if fetchErr != nil {
		return keysError(fetchErr)
	}
	if err == nil {
		return errors.New("auth: fetching JWKS: a key verified the probe")
	}
	return nil
}

// gate returns the check that every fetch of k passes: the first is load's;
// later ones, caused by unknown key ids, come at most once per
// MinRefreshInterval (across key sets, so a refresh does not reset it).
func (k *keySet) gate(v *JWTVerifier) func() error {
	return func() error {
		v.fmu.Lock()
		defer v.fmu.Unlock()
		if !k.loaded {
			k.loaded = true
			return nil
		}
		now := v.opts.Now()
		if !v.forced.IsZero() && now.Sub(v.forced) < v.opts.MinRefreshInterval {
			return errRefreshLimited
		}
		v.forced = now
		return nil
	}
}

// maxDocument bounds discovery and key-set documents.
const maxDocument = 1 << 20

// fetcher is the transport of go-oidc's requests: it serves file:// URLs
// from the file system, bounds documents to maxDocument, and turns every
// failure to obtain a JSON document (an error, a status other than 200, a
// body that is not JSON) into a fetchError, which go-oidc passes on wrapped.
type fetcher struct {
	client *http.Client
	gate   func() error // nil: no gate
}

func (f fetcher) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.gate != nil {
		if err := f.gate(); err != nil {
			return nil, err
		}
	}
	body, err := f.get(req)
	if err != nil {
		return nil, &fetchError{err}
	}
	if !json.Valid(body) {
		return nil, &fetchError{fmt.Errorf("GET %s: the document is not JSON", req.URL.Redacted())}
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

func (f fetcher) get(req *http.Request) ([]byte, error) {
	var body io.ReadCloser
	switch req.URL.Scheme {
	case "file":
		file, err := os.Open(req.URL.Path)
		if err != nil {
			return nil, err
		}
		body = file
	case "https", "http":
		out := req.Clone(req.Context())
		out.RequestURI = ""
		resp, err := f.client.Do(out)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // go-oidc's own client says which URL failed
			}
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
		}
		body = resp.Body
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q", req.URL.Scheme)
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxDocument+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("GET %s: the document is larger than %d bytes", req.URL.Redacted(), maxDocument)
	}
	return b, nil
}

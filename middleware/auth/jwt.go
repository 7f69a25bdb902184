package auth

import (
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
	// flood of forged tokens cannot hammer the issuer; default 10s.
	MinRefreshInterval time.Duration
	// Client fetches discovery and keys; default a client with a 10s timeout.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

var defaultAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}

// JWTVerifier verifies bearer tokens against an issuer's keys. Keys are
// fetched on the first token (so a function's start never waits for the
// network), or ahead of it by Prefetch, cached, and refreshed on rotation.
type JWTVerifier struct {
	opts JWTOptions

	mu      sync.Mutex
	keys    jose.JSONWebKeySet
	fetched time.Time // when keys were last fetched; zero before the first fetch
	forced  time.Time // when an unknown key id last caused a fetch
	failed  time.Time // when a fetch last failed
	lastErr error
	jwksURL string // resolved from discovery on first use
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
	for _, a := range opts.Algorithms {
		if a == "none" || strings.HasPrefix(string(a), "HS") {
			return nil, fmt.Errorf("auth: algorithm %s is not allowed for verification with public keys", a)
		}
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
	return &JWTVerifier{opts: opts, jwksURL: opts.JWKSURL}, nil
}

// errInvalidToken marks every rejection of a presented token: the
// middleware answers it with error="invalid_token".
var errInvalidToken = errors.New("invalid token")

// Verify checks token's signature, algorithm, issuer, audience and times,
// and returns its principal. A rejected token's error wraps errInvalidToken
// (the caller's fault); a failure to obtain the keys does not (ours).
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Principal, error) {
	parsed, err := jwt.ParseSigned(token, v.opts.Algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidToken, err)
	}
	if len(parsed.Headers) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", errInvalidToken)
	}
	kid := parsed.Headers[0].KeyID
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var all map[string]any
	if err := parsed.Claims(key.Key, &std, &all); err != nil {
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

// Prefetch fetches the issuer's keys now unless they are cached, so that
// the first token need not wait for discovery and the key set. A function
// calls it in a goroutine from its init hook: the fetch then overlaps the
// rest of the cold start, and a token that arrives meanwhile waits for this
// one fetch instead of making its own. A failure is returned but not
// remembered: the first token tries again at once.
func (v *JWTVerifier) Prefetch(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.fetched.IsZero() {
		return nil
	}
	failed, lastErr := v.failed, v.lastErr
	err := v.fetchLocked(ctx, v.opts.Now())
	if err != nil {
		v.failed, v.lastErr = failed, lastErr
	}
	return err
}

// key returns the verification key with the given id, fetching the key set
// when it is stale, or when the id is unknown (a rotation) and no unknown id
// caused a fetch in the last MinRefreshInterval. Fetches happen under the
// lock, so concurrent verifications wait for one fetch rather than each
// making their own.
func (v *JWTVerifier) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.opts.Now()
	if v.fetched.IsZero() || now.Sub(v.fetched) > v.opts.RefreshInterval {
		if err := v.fetchLocked(ctx, now); err != nil && v.fetched.IsZero() {
			return nil, err
		} // else: keep serving the stale keys while the issuer is down
	}
	if k, ok := v.lookupLocked(kid); ok {
		return k, nil
	}
	if v.forced.IsZero() || now.Sub(v.forced) >= v.opts.MinRefreshInterval {
		v.forced = now
		if err := v.fetchLocked(ctx, now); err != nil {
			return nil, err
		}
		if k, ok := v.lookupLocked(kid); ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: unknown key id %q", errInvalidToken, kid)
}

func (v *JWTVerifier) lookupLocked(kid string) (*jose.JSONWebKey, bool) {
	var match []jose.JSONWebKey
	if kid == "" {
		match = v.keys.Keys
	} else {
		match = v.keys.Key(kid)
	}
	for i := range match {
		k := &match[i]
		if k.IsPublic() && (k.Use == "" || k.Use == "sig") {
			return k, true
		}
	}
	return nil, false
}

// fetchLocked fetches the key set. After a failure it fails at once, with
// the same error, until MinRefreshInterval has passed: a down issuer costs
// one slow request per interval, not one per token.
func (v *JWTVerifier) fetchLocked(ctx context.Context, now time.Time) (err error) {
	if !v.failed.IsZero() && now.Sub(v.failed) < v.opts.MinRefreshInterval {
		return v.lastErr
	}
	defer func() {
		if err != nil {
			v.failed, v.lastErr = now, err
		}
	}()
	if v.jwksURL == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := v.getJSON(ctx, strings.TrimSuffix(v.opts.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return fmt.Errorf("auth: OIDC discovery: %w", err)
		}
		if doc.Issuer != v.opts.Issuer || doc.JWKSURI == "" {
			return fmt.Errorf("auth: OIDC discovery of %q names issuer %q and jwks_uri %q", v.opts.Issuer, doc.Issuer, doc.JWKSURI)
		}
		v.jwksURL = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, v.jwksURL, &set); err != nil {
		return fmt.Errorf("auth: fetching JWKS: %w", err)
	}
	v.keys, v.fetched = set, now
	return nil
}

// maxDocument bounds discovery and key-set documents.
const maxDocument = 1 << 20

func (v *JWTVerifier) getJSON(ctx context.Context, rawURL string, into any) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	var body io.ReadCloser
	switch u.Scheme {
	case "file":
		f, err := os.Open(u.Path)
		if err != nil {
			return err
		}
		body = f
	case "https", "http":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return err
		}
		resp, err := v.opts.Client.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("GET %s: %s", rawURL, resp.Status)
		}
		body = resp.Body
	default:
		return fmt.Errorf("unsupported URL scheme %q", u.Scheme)
	}
	defer body.Close()
	return json.NewDecoder(io.LimitReader(body, maxDocument)).Decode(into)
}

package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"gocloud.dev/runtimevar"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
	"github.com/polyfn/polyfn/middleware/cors"
	"github.com/polyfn/polyfn/middleware/idempotency"
	"github.com/polyfn/polyfn/middleware/idempotency/redisstore"
	"github.com/polyfn/polyfn/middleware/ratelimit"
	"github.com/polyfn/polyfn/middleware/ratelimit/redisrate"
)

// The variables that configure the users app's gateway policies
// (docs/functions/users.md).
const (
	// IssuerEnv holds the URL of the OIDC issuer whose bearer tokens the
	// app accepts. Required; the local runtime defaults it to its
	// development issuer.
	IssuerEnv = "USERS_OIDC_ISSUER"
	// AudienceEnv holds the audience those tokens must name, or several
	// separated by commas. Required; the local runtime defaults it to
	// "polyfn-local".
	AudienceEnv = "USERS_OIDC_AUDIENCE"
	// JWKSEnv optionally holds where the issuer's keys are fetched instead
	// of through discovery: an https://, http:// or file:// URL.
	JWKSEnv = "USERS_JWKS_URL"
	// APIKeysEnv optionally holds the gocloud.dev runtime variable URL of
	// the accepted API keys, a list that auth.ParseAPIKeys reads. An empty
	// value of the variable accepts no key.
	APIKeysEnv = "USERS_API_KEYS_URL"
	// RateLimitEnv holds the rate limit of each caller, as
	// ratelimit.ParseLimit reads it; default DefaultRateLimit.
	RateLimitEnv = "USERS_RATE_LIMIT"
	// RedisEnv optionally holds a redis:// or rediss:// URL. When it is set,
	// rate-limit buckets and idempotency records live there, shared by
	// every instance of the function; otherwise each process keeps its own.
	RedisEnv = "USERS_REDIS_URL"
	// CORSOriginsEnv optionally holds the origins whose browser pages may
	// call the API, separated by commas ("https://app.example.com"), or "*"
	// for any. Unset, no cross-origin request is allowed.
	CORSOriginsEnv = "USERS_CORS_ORIGINS"
)

// DefaultRateLimit is each caller's rate limit when RateLimitEnv is unset.
const DefaultRateLimit = "20/s"

// The scopes the routes require of bearer tokens.
const (
	// ScopeRead is required by GET /users/{id}.
	ScopeRead = "users:read"
	// ScopeWrite is required by POST /users, unless the caller presents an
	// API key.
	ScopeWrite = "users:write"
)

// keysTimeout bounds the wait for the API key list when a request presents
// a key before the list was first read.
const keysTimeout = 5 * time.Second

// policies are the gateway policies of the app, opened from the
// environment at start-up: which browser origins may call (cors), who may
// call (authn), how often (throttle), and where idempotency records are kept.
type policies struct {
	cors     func(http.Handler) http.Handler // nil without CORSOriginsEnv
	authn    func(http.Handler) http.Handler
	throttle func(http.Handler) http.Handler
	idem     idempotency.Store
	closers  []func() error
}

// openPolicies reads the policies' variables. Tokens from the issuer in
// IssuerEnv for the audience in AudienceEnv are always accepted, and API
// keys when APIKeysEnv is set: without an issuer and an audience the app
// does not start, so it never serves an open API. Nothing here waits for
// the network: the issuer's keys are fetched on the first token, and the
// API key list is read in the background by its runtime variable.
// prefetchTimeout bounds the background fetch of the issuer's keys at
// start-up.
const prefetchTimeout = 10 * time.Second

func openPolicies(ctx context.Context, env core.Env) (_ *policies, err error) {
	p := &policies{}
	defer func() {
		if err != nil {
			_ = p.close()
		}
	}()
	var missing []string
	for _, k := range []string{AudienceEnv, IssuerEnv} {
		if env(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("users: authentication is not configured, and users never serves an open API: %w",
			&core.MissingEnvError{App: "users", Vars: missing})
	}
	issuer := env(IssuerEnv)
	if !isURL(issuer, "https", "http") {
		return nil, fmt.Errorf("users: %s is %q: want the issuer's https:// URL", IssuerEnv, issuer)
	}
	var audience []string
	for _, a := range strings.Split(env(AudienceEnv), ",") {
		if a = strings.TrimSpace(a); a != "" {
			audience = append(audience, a)
		}
	}
	if len(audience) == 0 {
		return nil, fmt.Errorf("users: %s is %q: want an audience, or several separated by commas", AudienceEnv, env(AudienceEnv))
	}
	jwks := env(JWKSEnv)
	if jwks != "" && !isURL(jwks, "https", "http", "file") {
		return nil, fmt.Errorf("users: %s is %q: want an https://, http:// or file:// URL", JWKSEnv, jwks)
	}
	verifier, err := auth.NewJWTVerifier(auth.JWTOptions{Issuer: issuer, Audience: audience, JWKSURL: jwks})
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	// Fetch the issuer's keys while the rest of the cold start goes on, so
	// the first request need not wait for them; a failure here only means
	// the first token fetches them itself.
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), prefetchTimeout)
		defer cancel()
		if err := verifier.Prefetch(ctx); err != nil {
			slog.WarnContext(ctx, "users: prefetching the issuer's keys failed; the first token will fetch them", slog.Any("error", err))
		}
	}()
	authenticators := []auth.Authenticator{auth.Bearer{Verifier: verifier}}
	if u := env(APIKeysEnv); u != "" {
		v, err := runtimevar.OpenVariable(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("users: opening the API key list in %s: %w", APIKeysEnv, err)
		}
		p.closers = append(p.closers, v.Close)
		authenticators = append(authenticators, auth.APIKeys{Keys: (&keyList{v: v}).keys})
	}
	p.authn = auth.Middleware(nil, authenticators...)

	spec := env(RateLimitEnv)
	if spec == "" {
		spec = DefaultRateLimit
	}
	limit, err := ratelimit.ParseLimit(spec)
	if err != nil {
		return nil, fmt.Errorf("users: %s: %w", RateLimitEnv, err)
	}
	var limiter ratelimit.Store = ratelimit.NewMemory()
	p.idem = idempotency.NewMemory()
	if u := env(RedisEnv); u != "" {
		// The URL may hold a password, so errors never quote it.
		if !isURL(u, "redis", "rediss") {
			return nil, fmt.Errorf("users: %s is not a redis:// or rediss:// URL", RedisEnv)
		}
		rl, err := redisrate.Open(u, "polyfn:users:ratelimit:")
		if err != nil {
			return nil, fmt.Errorf("users: %s: %w", RedisEnv, err)
		}
		p.closers = append(p.closers, rl.Close)
		idem, err := redisstore.Open(u, "polyfn:users:idempotency:")
		if err != nil {
			return nil, fmt.Errorf("users: %s: %w", RedisEnv, err)
		}
		p.closers = append(p.closers, idem.Close)
		limiter, p.idem = rl, idem
	}
	p.throttle = ratelimit.Middleware(limiter, limit, nil)

	if v := env(CORSOriginsEnv); v != "" {
		origins, err := parseOrigins(v)
		if err != nil {
			return nil, fmt.Errorf("users: %s: %w", CORSOriginsEnv, err)
		}
		p.cors = cors.Middleware(cors.Options{
			Origins: origins,
			Methods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
			// The default request headers cover Authorization, X-API-Key,
			// Idempotency-Key and Content-Type; these are what a page
			// reads of the answers.
			Expose: []string{"Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Idempotent-Replayed"},
		})
	}
	return p, nil
}

// parseOrigins reads a comma-separated list of origins: "*", or each a
// scheme and host (and port) with nothing after them, as browsers send
// them in Origin.
func parseOrigins(v string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.String() != o {
				return nil, fmt.Errorf("%q is not an origin: want scheme://host[:port], such as https://app.example.com, or *", o)
			}
		}
		origins = append(origins, o)
	}
	if len(origins) == 0 {
		return nil, fmt.Errorf("%q names no origin", v)
	}
	return origins, nil
}

// isURL reports whether raw is a URL of one of schemes, with a host (a
// path, for file://).
func isURL(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil || !slices.Contains(schemes, u.Scheme) {
		return false
	}
	if u.Scheme == "file" {
		return u.Path != ""
	}
	return u.Host != ""
}

// close releases what openPolicies opened, in reverse order.
func (p *policies) close() error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	p.closers = nil
	return errors.Join(errs...)
}

// canCreate lets a request through to create a user when its caller
// authenticated with an API key (every accepted key may create users,
// whatever scopes the list gives it), and otherwise only with ScopeWrite.
func canCreate(next http.Handler) http.Handler {
	scoped := auth.RequireScopes(ScopeWrite)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); ok && p.Method == auth.MethodAPIKey {
			next.ServeHTTP(w, r)
			return
		}
		scoped.ServeHTTP(w, r)
	})
}

// keyList is the API key list in a runtime variable, parsed once per
// version of the variable. The variable watches its store in the
// background, so a changed list is used within the driver's polling interval.
type keyList struct {
	v *runtimevar.Variable

	mu      sync.Mutex
	version time.Time // the UpdateTime of the snapshot parsed
	list    []auth.APIKey
	err     error
}

func (k *keyList) keys(ctx context.Context) ([]auth.APIKey, error) {
	ctx, cancel := context.WithTimeout(ctx, keysTimeout)
	defer cancel()
	snap, err := k.v.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("users: reading the API key list: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.version.IsZero() && snap.UpdateTime.Equal(k.version) {
		return k.list, k.err
	}
	var raw []byte
	switch v := snap.Value.(type) {
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		return nil, fmt.Errorf("users: the API key list is a %T; open %s with decoder=bytes or decoder=string", v, APIKeysEnv)
	}
	k.version, k.list, k.err = snap.UpdateTime, nil, nil
	if len(strings.TrimSpace(string(raw))) > 0 { // an empty list accepts no key
		k.list, k.err = auth.ParseAPIKeys(raw)
	}
	if k.err != nil {
		k.err = fmt.Errorf("users: %w", k.err)
	}
	return k.list, k.err
}

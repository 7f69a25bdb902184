package users_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"gocloud.dev/blob"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// stored lists the users stored in the bucket in dir.
func stored(t *testing.T, dir string) []string {
	t.Helper()
	b, err := blob.OpenBucket(t.Context(), bucketURL(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: "users/"})
	for {
		obj, err := it.Next(t.Context())
		if err == io.EOF {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
}

// TestAuthentication checks who may call which route: bearer tokens by
// scope, API keys, and everything else refused as RFC 6750 says, before
// anything is stored.
func TestAuthentication(t *testing.T) {
	dir := t.TempDir()
	iss := authtest.NewIssuer(t)
	keys := authtest.KeyListURL(t,
		authtest.Key{Name: "importer", Secret: "importer-secret"},
		authtest.Key{Name: "reporting", Secret: "reporting-secret", Scopes: []string{users.ScopeRead}})
	a := startTrusting(t, iss, dir, users.APIKeysEnv, keys)
	existing := a.create("Ada", "ada@example.com")
	before := len(stored(t, dir))

	other := authtest.NewIssuer(t)
	token := func(tok authtest.Token) string { return "Bearer " + iss.Sign(t, tok) }
	const body = `{"name":"Grace Hopper","email":"grace@example.com"}`
	tests := []struct {
		name, method string
		header       []string // name, value, …; an empty Authorization sends none
		wantStatus   int
		wantChall    string // the WWW-Authenticate header, for 401 and 403
	}{
		{"no credentials", "POST", []string{"Authorization", ""}, 401, `Bearer realm="polyfn"`},
		{"no credentials, GET", "GET", []string{"Authorization", ""}, 401, `Bearer realm="polyfn"`},
		{"another scheme", "POST", []string{"Authorization", "Basic YWRhOnNlY3JldA=="}, 401, `Bearer realm="polyfn"`},
		{"not a JWT", "POST", []string{"Authorization", "Bearer not-a-jwt"}, 401, `Bearer realm="polyfn", error="invalid_token"`},
		{"expired", "POST", []string{"Authorization", token(authtest.Token{Subject: "bob", Scopes: []string{users.ScopeWrite}, TTL: -time.Minute})}, 401, `error="invalid_token"`},
		{"another audience", "POST", []string{"Authorization", token(authtest.Token{Subject: "bob", Scopes: []string{users.ScopeWrite}, Audience: "billing"})}, 401, `error="invalid_token"`},
		{"another issuer", "POST", []string{"Authorization", other.Bearer(t, "bob", users.ScopeWrite)}, 401, `error="invalid_token"`},
		{"unknown API key", "POST", []string{"Authorization", "", "X-API-Key", "guess"}, 401, `error="invalid_token"`},
		{"read scope cannot create", "POST", []string{"Authorization", iss.Bearer(t, "bob", users.ScopeRead)}, 403,
			`Bearer realm="polyfn", error="insufficient_scope", scope="users:write"`},
		{"write scope cannot read", "GET", []string{"Authorization", iss.Bearer(t, "bob", users.ScopeWrite)}, 403,
			`Bearer realm="polyfn", error="insufficient_scope", scope="users:read"`},
		{"API key without the read scope cannot read", "GET", []string{"Authorization", "", "X-API-Key", "importer-secret"}, 403,
			`error="insufficient_scope", scope="users:read"`},
		{"write scope creates", "POST", []string{"Authorization", iss.Bearer(t, "bob", users.ScopeWrite)}, 201, ""},
		{"read scope reads", "GET", []string{"Authorization", iss.Bearer(t, "bob", users.ScopeRead)}, 200, ""},
		{"any API key creates", "POST", []string{"Authorization", "", "X-API-Key", "importer-secret"}, 201, ""},
		{"API key with the read scope reads", "GET", []string{"Authorization", "", "X-API-Key", "reporting-secret"}, 200, ""},
	}
	created := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, reqBody, contentType := "/users", body, "application/json"
			if tt.method == "GET" {
				target, reqBody, contentType = "/users/"+existing.ID, "", ""
			}
			w := a.do(tt.method, target, contentType, reqBody, tt.header...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if w.Code == 201 {
				created++
			}
			if w.Code < 400 {
				return
			}
			// Without credentials the challenge carries no error (RFC 6750 §3.1).
			got := w.Header().Get("WWW-Authenticate")
			if exact := !strings.Contains(tt.wantChall, "error="); exact && got != tt.wantChall ||
				!strings.HasPrefix(got, `Bearer realm="polyfn"`) || !strings.Contains(got, tt.wantChall) {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tt.wantChall)
			}
			p := problemOf(t, w)
			want := map[int]string{401: "unauthenticated", 403: "permission-denied"}[w.Code]
			if p.Type != core.ProblemTypePrefix+want {
				t.Errorf("problem type: got %q, want %q", p.Type, core.ProblemTypePrefix+want)
			}
		})
	}
	if got, want := len(stored(t, dir)), before+created; got != want {
		t.Errorf("stored users: got %d, want %d: a refused request reached the function", got, want)
	}
}

// TestJWKSURL proves USERS_JWKS_URL is where the keys come from: the
// issuer in USERS_OIDC_ISSUER is never contacted (it does not exist).
func TestJWKSURL(t *testing.T) {
	iss := authtest.NewIssuer(t)
	const issuer = "https://login.invalid"
	h := startEnv(t, envOf(users.BucketEnv, bucketURL(t.TempDir()),
		users.IssuerEnv, issuer, users.AudienceEnv, "users-api, "+authtest.Audience, users.JWKSEnv, iss.JWKSURL))
	a := &app{t: t, h: h, iss: iss,
		authz: "Bearer " + iss.Sign(t, authtest.Token{Subject: "alice", Issuer: issuer, Audience: "users-api", Scopes: []string{users.ScopeRead, users.ScopeWrite}})}
	u := a.create("Ada", "ada@example.com")
	if w := a.do("GET", "/users/"+u.ID, "", ""); w.Code != http.StatusOK {
		t.Errorf("GET with a token for the audience users-api: got %d %s, want 200", w.Code, w.Body)
	}
	// The second audience of the comma-separated list is accepted too.
	second := "Bearer " + iss.Sign(t, authtest.Token{Subject: "alice", Issuer: issuer, Scopes: []string{users.ScopeRead}})
	if w := a.do("GET", "/users/"+u.ID, "", "", "Authorization", second); w.Code != http.StatusOK {
		t.Errorf("GET with a token for the audience %s: got %d %s, want 200", authtest.Audience, w.Code, w.Body)
	}
}

// TestRateLimit checks the per-caller limit: 429 with Retry-After once a
// caller's burst is spent, other callers unaffected, and nothing stored.
func TestRateLimit(t *testing.T) {
	dir := t.TempDir()
	a := start(t, dir, users.RateLimitEnv, "3/h", users.APIKeysEnv, authtest.KeyListURL(t, authtest.Key{Name: "importer", Secret: "importer-secret"}))
	unknown := "/users/" + uuid.NewString()
	for i := range 3 {
		w := a.do("GET", unknown, "", "")
		if w.Code != http.StatusNotFound {
			t.Fatalf("request %d: got %d %s, want 404", i+1, w.Code, w.Body)
		}
		if got, want := w.Header().Get("RateLimit-Limit"), "3"; got != want {
			t.Errorf("request %d: RateLimit-Limit %q, want %q", i+1, got, want)
		}
		if got, want := w.Header().Get("RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
			t.Errorf("request %d: RateLimit-Remaining %q, want %q", i+1, got, want)
		}
	}
	for _, method := range []string{"GET", "POST"} {
		w := a.do(method, "/users", "application/json", `{"name":"Ada","email":"ada@example.com"}`)
		if method == "GET" {
			w = a.do(method, unknown, "", "")
		}
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("%s over the limit: got %d %s, want 429", method, w.Code, w.Body)
		}
		// 3/h refills one request every 20 minutes.
		if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1100 || s > 1200 {
			t.Errorf("%s: Retry-After %q, want about 1200 seconds", method, w.Header().Get("Retry-After"))
		}
		if got := problemOf(t, w).Type; got != core.ProblemTypePrefix+"resource-exhausted" {
			t.Errorf("%s: problem type %q", method, got)
		}
	}
	if got := stored(t, dir); len(got) != 0 {
		t.Errorf("a throttled POST stored %v", got)
	}
	// Each caller has its own bucket: another subject, an API key.
	if w := a.do("GET", unknown, "", "", "Authorization", a.iss.Bearer(t, "bob", users.ScopeRead)); w.Code != http.StatusNotFound {
		t.Errorf("another caller: got %d, want 404", w.Code)
	}
	if w := a.do("POST", "/users", "application/json", `{"name":"Ada","email":"ada@example.com"}`, "Authorization", "", "X-API-Key", "importer-secret"); w.Code != http.StatusCreated {
		t.Errorf("an API key: got %d, want 201", w.Code)
	}
}

// TestDefaultRateLimit checks the limit without USERS_RATE_LIMIT, and that
// refused credentials are answered before the limit counts anything.
func TestDefaultRateLimit(t *testing.T) {
	a := start(t, t.TempDir(), users.RateLimitEnv, "")
	if got, want := a.do("GET", "/users/"+uuid.NewString(), "", "").Header().Get("RateLimit-Limit"), "20"; got != want {
		t.Errorf("RateLimit-Limit: got %q, want %q (%s)", got, want, users.DefaultRateLimit)
	}
	w := a.do("GET", "/users/"+uuid.NewString(), "", "", "Authorization", "")
	if w.Code != http.StatusUnauthorized || w.Header().Get("RateLimit-Limit") != "" {
		t.Errorf("without credentials: got %d with RateLimit-Limit %q, want 401 without it", w.Code, w.Header().Get("RateLimit-Limit"))
	}
}

// TestIdempotency checks POST /users with an Idempotency-Key: a retry gets
// the same user, marked as replayed, and creates nothing; the key with
// another body is refused; keys are the caller's own.
func TestIdempotency(t *testing.T) {
	dir := t.TempDir()
	a := start(t, dir)
	const body = `{"name":"Ada Lovelace","email":"ada@example.com"}`
	first := a.do("POST", "/users", "application/json", body, "Idempotency-Key", "k-1")
	if first.Code != http.StatusCreated {
		t.Fatalf("first POST: got %d %s", first.Code, first.Body)
	}
	retry := a.do("POST", "/users", "application/json", body, "Idempotency-Key", "k-1")
	if retry.Code != http.StatusCreated || retry.Body.String() != first.Body.String() {
		t.Errorf("retry: got %d %s, want 201 %s", retry.Code, retry.Body, first.Body)
	}
	if retry.Header().Get("Idempotent-Replayed") != "true" || retry.Header().Get("Location") != first.Header().Get("Location") {
		t.Errorf("retry headers: %v, want Idempotent-Replayed and the first Location %s", retry.Header(), first.Header().Get("Location"))
	}
	if got := stored(t, dir); len(got) != 1 {
		t.Errorf("stored %v, want one user", got)
	}
	changed := a.do("POST", "/users", "application/json", `{"name":"Ada King","email":"ada@example.com"}`, "Idempotency-Key", "k-1")
	if changed.Code != http.StatusUnprocessableEntity || problemOf(t, changed).Type != core.ProblemTypePrefix+"failed-precondition" {
		t.Errorf("the key with another body: got %d %s, want a 422 problem", changed.Code, changed.Body)
	}
	bob := a.do("POST", "/users", "application/json", body, "Idempotency-Key", "k-1", "Authorization", a.iss.Bearer(t, "bob", users.ScopeWrite))
	if bob.Code != http.StatusCreated || bob.Body.String() == first.Body.String() || bob.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("another caller's same key: got %d %s, want a new user", bob.Code, bob.Body)
	}
	if got := stored(t, dir); len(got) != 2 {
		t.Errorf("stored %v, want two users", got)
	}
}

// TestIdempotencyConcurrent sends one request ten times at once: one user
// is created, and every answer is that user or a 409 to retry later.
func TestIdempotencyConcurrent(t *testing.T) {
	dir := t.TempDir()
	a := start(t, dir)
	var wg sync.WaitGroup
	codes := make([]int, 10)
	bodies := make([]string, 10)
	for i := range codes {
		wg.Go(func() {
			w := a.do("POST", "/users", "application/json", `{"name":"Ada","email":"ada@example.com"}`, "Idempotency-Key", "same")
			codes[i], bodies[i] = w.Code, w.Body.String()
		})
	}
	wg.Wait()
	keys := stored(t, dir)
	if len(keys) != 1 {
		t.Fatalf("stored %v, want exactly one user", keys)
	}
	for i, code := range codes {
		switch {
		case code == http.StatusCreated && !strings.Contains(bodies[i], strings.TrimSuffix(strings.TrimPrefix(keys[0], "users/"), ".json")):
			t.Errorf("answer %d is another user: %s", i, bodies[i])
		case code != http.StatusCreated && code != http.StatusConflict:
			t.Errorf("answer %d: %d %s, want 201 or 409", i, code, bodies[i])
		}
	}
}

// TestSharedInRedis runs two instances of the app on one Redis: they share
// each caller's rate limit and the idempotency records.
func TestSharedInRedis(t *testing.T) {
	redisURL := emulators.RedisURL(t)
	iss := authtest.NewIssuer(t)
	dir := t.TempDir()
	one := startTrusting(t, iss, dir, users.RedisEnv, redisURL, users.RateLimitEnv, "4/h")
	two := startTrusting(t, iss, dir, users.RedisEnv, redisURL, users.RateLimitEnv, "4/h")
	// Redis is shared by every test: the caller and the key are this run's own.
	run := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	one.authz = iss.Bearer(t, run, users.ScopeRead, users.ScopeWrite)
	two.authz = one.authz

	const body = `{"name":"Ada","email":"ada@example.com"}`
	created := one.do("POST", "/users", "application/json", body, "Idempotency-Key", run)
	replayed := two.do("POST", "/users", "application/json", body, "Idempotency-Key", run)
	if created.Code != http.StatusCreated || replayed.Code != http.StatusCreated || replayed.Body.String() != created.Body.String() ||
		replayed.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("POST on one, retry on two: got %d %s and %d %s, want the same user replayed",
			created.Code, created.Body, replayed.Code, replayed.Body)
	}
	if got := stored(t, dir); len(got) != 1 {
		t.Errorf("stored %v, want one user", got)
	}
	// Two requests of the limit of 4 are spent; two more pass, on either instance.
	for i, a := range []*app{one, two} {
		if w := a.do("GET", "/users/"+uuid.NewString(), "", ""); w.Code != http.StatusNotFound {
			t.Fatalf("request %d: got %d %s, want 404", i+3, w.Code, w.Body)
		}
	}
	for _, a := range []*app{one, two} {
		if w := a.do("GET", "/users/"+uuid.NewString(), "", ""); w.Code != http.StatusTooManyRequests {
			t.Errorf("over the shared limit: got %d %s, want 429", w.Code, w.Body)
		}
	}
}

// TestAPIKeyList checks the key list's states: a changed list is used
// without a restart, an empty one accepts no key, and one that cannot be
// read answers 503 without saying why (tokens still work).
func TestAPIKeyList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	write := func(b []byte) {
		t.Helper()
		// Replace the file in one step, as a deployment would.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(nil)
	a := start(t, t.TempDir(), users.APIKeysEnv, "file://"+filepath.ToSlash(path)+"?decoder=string")
	post := func() *httptest.ResponseRecorder {
		return a.do("POST", "/users", "application/json", `{"name":"Ada","email":"ada@example.com"}`, "Authorization", "", "X-API-Key", "new-secret")
	}
	if w := post(); w.Code != http.StatusUnauthorized {
		t.Fatalf("a key with an empty list: got %d %s, want 401", w.Code, w.Body)
	}
	write(authtest.KeyList(authtest.Key{Name: "new", Secret: "new-secret"}))
	deadline := time.Now().Add(10 * time.Second)
	for w := post(); w.Code != http.StatusCreated; w = post() {
		if time.Now().After(deadline) {
			t.Fatalf("a key added to the list: still %d %s after 10s", w.Code, w.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	write([]byte(`[{"name":"broken","hash":"md5:1234"}]`))
	deadline = time.Now().Add(10 * time.Second)
	for w := post(); w.Code != http.StatusServiceUnavailable; w = post() {
		if time.Now().After(deadline) {
			t.Fatalf("a key list that does not parse: still %d %s after 10s, want 503", w.Code, w.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := post(); strings.Contains(w.Body.String(), "md5") || strings.Contains(w.Body.String(), "hash") {
		t.Errorf("the 503 tells why: %s", w.Body)
	}
	if w := a.do("GET", "/users/"+uuid.NewString(), "", ""); w.Code != http.StatusNotFound {
		t.Errorf("a token while the key list is broken: got %d %s, want 404", w.Code, w.Body)
	}
}

// TestConfigErrors checks that a bad configuration stops the start with an
// error naming the variable, never quoting a Redis password.
func TestConfigErrors(t *testing.T) {
	good := []string{users.BucketEnv, bucketURL(t.TempDir()), users.IssuerEnv, "https://login.example.com", users.AudienceEnv, "users-api"}
	tests := []struct {
		name        string
		vars        []string
		wantVar     string
		wantMissing []string // the variables of a *core.MissingEnvError
	}{
		{"no authentication", []string{users.IssuerEnv, "", users.AudienceEnv, ""}, users.IssuerEnv, []string{users.AudienceEnv, users.IssuerEnv}},
		{"no audience", []string{users.AudienceEnv, ""}, users.AudienceEnv, []string{users.AudienceEnv}},
		{"API keys alone", []string{users.IssuerEnv, "", users.APIKeysEnv, "file:///keys.json"}, users.IssuerEnv, []string{users.IssuerEnv}},
		{"issuer not a URL", []string{users.IssuerEnv, "login.example.com"}, users.IssuerEnv, nil},
		{"issuer not HTTP", []string{users.IssuerEnv, "ftp://login.example.com"}, users.IssuerEnv, nil},
		{"audience of commas", []string{users.AudienceEnv, " , "}, users.AudienceEnv, nil},
		{"JWKS URL of another scheme", []string{users.JWKSEnv, "ldap://keys.example.com"}, users.JWKSEnv, nil},
		{"JWKS URL without a host", []string{users.JWKSEnv, "https:///jwks"}, users.JWKSEnv, nil},
		{"API keys of an unknown scheme", []string{users.APIKeysEnv, "nosuch://keys"}, users.APIKeysEnv, nil},
		{"rate limit", []string{users.RateLimitEnv, "fast"}, users.RateLimitEnv, nil},
		{"rate limit unit", []string{users.RateLimitEnv, "20/d"}, users.RateLimitEnv, nil},
		{"Redis URL of another scheme", []string{users.RedisEnv, "http://:hunter2@cache.example.com"}, users.RedisEnv, nil},
		{"Redis URL that does not parse", []string{users.RedisEnv, "redis://:hunter2@cache.example.com:port"}, users.RedisEnv, nil},
		{"Redis database", []string{users.RedisEnv, "redis://:hunter2@cache.example.com/x"}, users.RedisEnv, nil},
		{"CORS origin without a scheme", []string{users.CORSOriginsEnv, "app.example.com"}, users.CORSOriginsEnv, nil},
		{"CORS origin with a path", []string{users.CORSOriginsEnv, "https://app.example.com/"}, users.CORSOriginsEnv, nil},
		{"CORS origin of another scheme", []string{users.CORSOriginsEnv, "https://app.example.com,ftp://files.example.com"}, users.CORSOriginsEnv, nil},
		{"CORS origins of commas", []string{users.CORSOriginsEnv, " , "}, users.CORSOriginsEnv, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := users.New()
			err := app.Init(t.Context(), envOf(append(append([]string{}, good...), tt.vars...)...))
			if err == nil {
				app.Close(t.Context())
				t.Fatalf("Init: got nil error, want one naming %s", tt.wantVar)
			}
			if !strings.Contains(err.Error(), tt.wantVar) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Init error %q: want it to name %s, and no password", err, tt.wantVar)
			}
			var missing *core.MissingEnvError
			if isMissing := errors.As(err, &missing); isMissing != (tt.wantMissing != nil) {
				t.Fatalf("Init error %q: a *core.MissingEnvError: %v, want %v", err, isMissing, !isMissing)
			}
			if missing != nil {
				if diff := cmp.Diff(tt.wantMissing, missing.Vars); diff != "" {
					t.Errorf("missing variables (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestCloudBuildRefusesWithoutAuthentication resolves the app's environment
// as a cloud build does (no local defaults): with only its bucket set, it
// must not start, and the error names the authentication variables.
func TestCloudBuildRefusesWithoutAuthentication(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == users.BucketEnv {
			return "s3://users?region=eu-west-1", true
		}
		return "", false
	}
	_, err := core.ResolveEnv(users.New(), lookup, nil)
	var missing *core.MissingEnvError
	if !errors.As(err, &missing) {
		t.Fatalf("ResolveEnv: got %v, want a *core.MissingEnvError", err)
	}
	if diff := cmp.Diff([]string{users.AudienceEnv, users.IssuerEnv}, missing.Vars); diff != "" {
		t.Errorf("missing variables (-want +got):\n%s", diff)
	}
}

func TestRequestBeforeStart(t *testing.T) {
	h := users.New().HTTPHandler()
	a := &app{t: t, h: h}
	if w := a.do("GET", "/users/"+uuid.NewString(), "", ""); w.Code != http.StatusServiceUnavailable {
		t.Errorf("before Init: got %d %s, want 503", w.Code, w.Body)
	}
}

// TestCORS checks the CORS policy of USERS_CORS_ORIGINS: preflights are
// answered before routing and authentication, allowed origins get the CORS
// headers on every answer (refusals included), and without the variable no
// cross-origin request is granted.
func TestCORS(t *testing.T) {
	const page = "https://app.example.com"
	a := start(t, t.TempDir(), users.CORSOriginsEnv, page+", https://admin.example.com")
	u := a.create("Ada", "ada@example.com")

	preflight := func(a *app, origin, method string) *httptest.ResponseRecorder {
		return a.do(http.MethodOptions, "/users", "", "", "Authorization", "",
			"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", "authorization, idempotency-key")
	}
	w := preflight(a, page, "POST")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != page ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight from %s: got %d %v, want 204 allowing the origin, POST and Idempotency-Key", page, w.Code, w.Header())
	}
	w = preflight(a, "https://evil.example", "POST")
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: got %d %v, want 403 without CORS headers", w.Code, w.Header())
	}
	if p := problemOf(t, w); p.Type != core.ProblemTypePrefix+"permission-denied" {
		t.Errorf("refused preflight: problem type %q, want permission-denied", p.Type)
	}

	w = a.do(http.MethodGet, "/users/"+u.ID, "", "", "Origin", page)
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != page ||
		!strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "RateLimit-Remaining") {
		t.Errorf("GET from %s: got %d %v, want 200 with the origin allowed and RateLimit-* exposed", page, w.Code, w.Header())
	}
	w = a.do(http.MethodGet, "/users/"+u.ID, "", "", "Origin", page, "Authorization", "")
	if w.Code != http.StatusUnauthorized || w.Header().Get("Access-Control-Allow-Origin") != page {
		t.Errorf("GET without credentials from %s: got %d %v, want 401 the page can read", page, w.Code, w.Header())
	}
	w = a.do(http.MethodGet, "/users/"+u.ID, "", "", "Origin", "https://evil.example")
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET from another origin: got %d %v, want 200 without CORS headers (the browser withholds it)", w.Code, w.Header())
	}

	// Without the variable, nothing is granted, and a preflight matches no route.
	b := start(t, t.TempDir())
	if w := preflight(b, page, "POST"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without %s: got %d %v, want 405 without CORS headers", users.CORSOriginsEnv, w.Code, w.Header())
	}
	if w := b.do(http.MethodGet, "/users/"+uuid.NewString(), "", "", "Origin", page); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET without %s: Access-Control-Allow-Origin %q, want none", users.CORSOriginsEnv, w.Header().Get("Access-Control-Allow-Origin"))
	}
}

// TestDeadline checks the timeout policy: a request whose invocation ends
// within the 250 ms kept to answer gets a 504 problem at once instead of
// running out of time; one with time to spare is served.
func TestDeadline(t *testing.T) {
	a := start(t, t.TempDir())
	u := a.create("Ada", "ada@example.com") // the issuer's keys are fetched by now
	get := func(left time.Duration) *httptest.ResponseRecorder {
		ctx, cancel := context.WithTimeout(t.Context(), left)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/users/"+u.ID, nil)
		r.Header.Set("Authorization", a.authz)
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, r)
		return w
	}
	if w := get(time.Minute); w.Code != http.StatusOK {
		t.Fatalf("a minute left: got %d %s, want 200", w.Code, w.Body)
	}
	w := get(200 * time.Millisecond)
	if w.Code != http.StatusGatewayTimeout {
		t.Fatalf("200 ms left: got %d %s, want 504", w.Code, w.Body)
	}
	if p := problemOf(t, w); p.Type != core.ProblemTypePrefix+"deadline-exceeded" {
		t.Errorf("problem type: got %q, want deadline-exceeded", p.Type)
	}
}

package users_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/runtimevar/filevar"
)

// bucketURL is a fileblob URL for dir, as the local runtime builds one.
func bucketURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=true&no_tmp_dir=true"}).String()
}

// app is a started users app and the credentials it accepts.
type app struct {
	t   *testing.T
	h   http.Handler
	iss *authtest.Issuer
	// authz is the Authorization header sent unless a request sets its
	// own: a token with both scopes.
	authz string
}

// start starts a users app on a bucket in dir that trusts a new test
// issuer, with vars (key, value, …) added to its environment. Unless vars
// set another, its rate limit is too high for a test to reach.
func start(t *testing.T, dir string, vars ...string) *app {
	t.Helper()
	return startTrusting(t, authtest.NewIssuer(t), dir, vars...)
}

// startTrusting is start with the issuer iss.
func startTrusting(t *testing.T, iss *authtest.Issuer, dir string, vars ...string) *app {
	t.Helper()
	a := &app{t: t, iss: iss, authz: iss.Bearer(t, "alice", users.ScopeRead, users.ScopeWrite)}
	a.h = startEnv(t, envOf(append([]string{
		users.BucketEnv, bucketURL(dir),
		users.IssuerEnv, iss.URL,
		users.AudienceEnv, authtest.Audience,
		users.RateLimitEnv, "100000/s",
	}, vars...)...))
	return a
}

// envOf is an environment holding only vars (key, value, …).
func envOf(vars ...string) core.Env {
	m := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return func(k string) string { return m[k] }
}

// startEnv starts a users app with env and returns its HTTP handler.
func startEnv(t *testing.T, env core.Env) http.Handler {
	t.Helper()
	a := users.New()
	if err := a.Init(t.Context(), env); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a.HTTPHandler()
}

// do sends a request with the app's default credentials. header holds
// more headers (name, value, …); an Authorization header there replaces
// the default, and an empty one sends none.
func (a *app) do(method, target, contentType, body string, header ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequestWithContext(a.t.Context(), method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Authorization", a.authz)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if r.Header.Get("Authorization") == "" {
		r.Header.Del("Authorization")
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// create posts a valid user and returns it, failing the test unless the
// answer is a 201.
func (a *app) create(name, email string) users.User {
	a.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "email": email})
	w := a.do(http.MethodPost, "/users", "application/json", string(body))
	if w.Code != http.StatusCreated {
		a.t.Fatalf("POST /users: got status %d, want %d; body %s", w.Code, http.StatusCreated, w.Body)
	}
	var u users.User
	if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil {
		a.t.Fatalf("POST /users: decoding %q: %v", w.Body, err)
	}
	return u
}

func problemOf(t *testing.T, w *httptest.ResponseRecorder) core.Problem {
	t.Helper()
	if got, want := w.Header().Get("Content-Type"), "application/problem+json"; got != want {
		t.Fatalf("Content-Type: got %q, want %q", got, want)
	}
	var p core.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("decoding problem %q: %v", w.Body, err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status: got %d, want the response's %d", p.Status, w.Code)
	}
	return p
}

func TestCreate(t *testing.T) {
	a := start(t, t.TempDir())
	before := time.Now().UTC()
	w := a.do(http.MethodPost, "/users", "application/json", `{"name":"  Ada Lovelace ","email":"ada@example.com"}`)
	after := time.Now().UTC()

	if got, want := w.Code, http.StatusCreated; got != want {
		t.Fatalf("status: got %d, want %d; body %s", got, want, w.Body)
	}
	if got, want := w.Header().Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type: got %q, want %q", got, want)
	}
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("decoding %q: %v", w.Body, err)
	}
	id, _ := raw["id"].(string)
	parsed, err := uuid.Parse(id)
	if err != nil || parsed.Version() != 4 || parsed.String() != id {
		t.Errorf("id: got %q, want a canonical version 4 UUID (parse error %v)", id, err)
	}
	if got, want := w.Header().Get("Location"), "/users/"+id; got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	createdAt, _ := raw["createdAt"].(string)
	ts, err := time.Parse(time.RFC3339, createdAt)
	if err != nil {
		t.Fatalf("createdAt %q: %v", createdAt, err)
	}
	if !strings.HasSuffix(createdAt, "Z") {
		t.Errorf("createdAt: got %q, want UTC (a Z suffix)", createdAt)
	}
	if ts.Before(before.Truncate(time.Second)) || ts.After(after) {
		t.Errorf("createdAt: got %v, want between %v and %v", ts, before, after)
	}
	want := map[string]any{"id": id, "name": "Ada Lovelace", "email": "ada@example.com", "createdAt": createdAt}
	if diff := cmp.Diff(want, raw); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestCreateStoresJSON(t *testing.T) {
	dir := t.TempDir()
	u := start(t, dir).create("Ada", "ada@example.com")

	b, err := blob.OpenBucket(t.Context(), bucketURL(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	key := "users/" + u.ID + ".json"
	attrs, err := b.Attributes(t.Context(), key)
	if err != nil {
		t.Fatalf("Attributes(%q): %v", key, err)
	}
	if got, want := attrs.ContentType, "application/json"; got != want {
		t.Errorf("stored content type: got %q, want %q", got, want)
	}
	data, err := b.ReadAll(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	var stored users.User
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatalf("decoding stored %q: %v", data, err)
	}
	if diff := cmp.Diff(u, stored); diff != "" {
		t.Errorf("stored user mismatch (-want +got):\n%s", diff)
	}
}

// TestCreateInvalid checks that every invalid body is answered 400 listing
// each violation with its JSON pointer: first what the schema
// (create-user.schema.json) finds, then, for bodies of the right shape,
// what only the function checks. A violation of the whole body points at
// "/" (the schema) or has no pointer (not JSON at all).
func TestCreateInvalid(t *testing.T) {
	a := start(t, t.TempDir())
	type v struct{ pointer, detail string } // detail: a part of the violation's detail
	tests := []struct {
		name string
		body string
		want []v
	}{
		{"missing name", `{"email":"ada@example.com"}`, []v{{"/", "Required property 'name' is missing"}}},
		{"blank name", `{"name":" \t ","email":"ada@example.com"}`, []v{{"/name", "must not be blank"}}},
		{"empty name", `{"name":"","email":"ada@example.com"}`, []v{{"/name", "Value should be at least 1 characters"}}},
		{"name too long", `{"name":"` + strings.Repeat("é", 201) + `","email":"ada@example.com"}`, []v{{"/name", "must be at most 200 characters"}}},
		{"control character in name", `{"name":"Ada\nLovelace","email":"ada@example.com"}`, []v{{"/name", "must not contain control characters"}}},
		{"null name", `{"name":null,"email":"ada@example.com"}`, []v{{"/name", "Value is null but should be string"}}},
		{"missing email", `{"name":"Ada"}`, []v{{"/", "Required property 'email' is missing"}}},
		{"bad email", `{"name":"Ada","email":"not-an-email"}`, []v{{"/email", "Value does not match format 'email'"}}},
		{"email with display name", `{"name":"Ada","email":"Ada <ada@example.com>"}`, []v{{"/email", "Value does not match format 'email'"}}},
		{"email with angle brackets", `{"name":"Ada","email":"<ada@example.com>"}`, []v{{"/email", "Value does not match format 'email'"}}},
		// The library's email format takes the address as net/mail does, white space and all; the function refuses it.
		{"email with surrounding space", `{"name":"Ada","email":" ada@example.com"}`, []v{{"/email", "must be a bare email address"}}},
		{"two addresses", `{"name":"Ada","email":"ada@example.com, bob@example.com"}`, []v{{"/email", "Value does not match format 'email'"}}},
		{"email too long", `{"name":"Ada","email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + `.com"}`, []v{{"/email", "Value does not match format 'email'"}, {"/email", "Value should be at most 254 characters"}}},
		{"wrong types", `{"name":42,"email":["ada@example.com"]}`, []v{{"/email", "Value is array but should be string"}, {"/name", "Value is integer but should be string"}}},
		{"empty object", `{}`, []v{{"/", "Required properties 'name', 'email' are missing"}}},
		{"unknown field", `{"name":"Ada","email":"ada@example.com","admin":true}`, []v{{"/", "Additional property 'admin' does not match the schema"}}},
		{"every violation", `{"name":"","email":"x","a/b~c":1,"admin":true}`, []v{{"/", "Additional properties 'a/b~c', 'admin' do not match the schema"}, {"/email", "Value does not match format 'email'"}, {"/name", "Value should be at least 1 characters"}}},
		{"malformed JSON", `{"name":"Ada",`, []v{{"", "not valid JSON"}}},
		{"empty body", ``, []v{{"", "not valid JSON"}}},
		{"white space only", " \n ", []v{{"", "not valid JSON"}}},
		{"trailing garbage", `{"name":"Ada","email":"ada@example.com"} x`, []v{{"", "not valid JSON"}}},
		{"two objects", `{"name":"Ada","email":"ada@example.com"}{}`, []v{{"", "not valid JSON"}}},
		{"array", `[{"name":"Ada","email":"ada@example.com"}]`, []v{{"/", "Value is array but should be object"}}},
		{"null", `null`, []v{{"/", "Value is null but should be object"}}},
		{"string", `"Ada"`, []v{{"/", "Value is string but should be object"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(http.MethodPost, "/users", "application/json", tt.body)
			if got, want := w.Code, http.StatusBadRequest; got != want {
				t.Fatalf("status: got %d, want %d; body %s", got, want, w.Body)
			}
			p := problemOf(t, w)
			if got, want := p.Type, core.ProblemTypePrefix+"invalid-argument"; got != want {
				t.Errorf("problem type: got %q, want %q", got, want)
			}
			if len(p.Errors) != len(tt.want) {
				t.Fatalf("violations: got %+v, want %d like %+v", p.Errors, len(tt.want), tt.want)
			}
			for i, got := range p.Errors {
				if got.Pointer != tt.want[i].pointer || !strings.Contains(got.Detail, tt.want[i].detail) {
					t.Errorf("violation %d: got %+v, want pointer %q and a detail containing %q", i, got, tt.want[i].pointer, tt.want[i].detail)
				}
			}
		})
	}
}

func TestCreateBodyLimit(t *testing.T) {
	const limit = 1 << 20
	a := start(t, t.TempDir())
	valid := `{"name":"Ada","email":"ada@example.com"}`
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"exactly 1 MiB", valid + strings.Repeat(" ", limit-len(valid)), http.StatusCreated},
		{"1 MiB + 1", valid + strings.Repeat(" ", limit-len(valid)+1), http.StatusRequestEntityTooLarge},
		{"much larger", `{"name":"` + strings.Repeat("a", 4*limit) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(http.MethodPost, "/users", "application/json", tt.body)
			if got := w.Code; got != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; body %.200s", got, tt.wantStatus, w.Body)
			}
			if tt.wantStatus != http.StatusCreated {
				if got, want := problemOf(t, w).Type, core.ProblemTypePrefix+"too-large"; got != want {
					t.Errorf("problem type: got %q, want %q", got, want)
				}
			}
		})
	}
}

func TestCreateContentType(t *testing.T) {
	a := start(t, t.TempDir())
	tests := []struct {
		contentType string
		wantStatus  int
	}{
		{"", http.StatusCreated},
		{"application/json", http.StatusCreated},
		{"Application/JSON; charset=UTF-8", http.StatusCreated},
		{"application/merge-patch+json", http.StatusCreated},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"application/xml", http.StatusUnsupportedMediaType},
		{"text/json+json", http.StatusUnsupportedMediaType},
		{"application/json; charset=latin1", http.StatusUnsupportedMediaType},
		{"application/json; charset", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			w := a.do(http.MethodPost, "/users", tt.contentType, `{"name":"Ada","email":"ada@example.com"}`)
			if got := w.Code; got != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; body %s", got, tt.wantStatus, w.Body)
			}
			if tt.wantStatus == http.StatusUnsupportedMediaType {
				if got, want := problemOf(t, w).Type, core.ProblemTypePrefix+"unsupported-media-type"; got != want {
					t.Errorf("problem type: got %q, want %q", got, want)
				}
			}
		})
	}
}

func TestGet(t *testing.T) {
	a := start(t, t.TempDir())
	u := a.create("Ada", "ada@example.com")
	tests := []struct {
		name       string
		path       string
		wantStatus int
	}{
		{"created", "/users/" + u.ID, http.StatusOK},
		{"created, upper case", "/users/" + strings.ToUpper(u.ID), http.StatusOK},
		{"unknown uuid", "/users/" + uuid.NewString(), http.StatusNotFound},
		{"not a uuid", "/users/not-a-uuid", http.StatusNotFound},
		{"uuid without hyphens", "/users/" + strings.ReplaceAll(u.ID, "-", ""), http.StatusNotFound},
		{"uuid in braces", "/users/%7B" + u.ID + "%7D", http.StatusNotFound},
		{"urn", "/users/urn:uuid:" + u.ID, http.StatusNotFound},
		{"escaped path", "/users/..%2F..%2Fetc%2Fpasswd", http.StatusNotFound},
		{"no id", "/users/", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(http.MethodGet, tt.path, "", "")
			if got := w.Code; got != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; body %s", got, tt.wantStatus, w.Body)
			}
			if tt.wantStatus != http.StatusOK {
				problemOf(t, w)
				return
			}
			if got, want := w.Header().Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type: got %q, want %q", got, want)
			}
			var got users.User
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decoding %q: %v", w.Body, err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	u := start(t, dir).create("Ada", "ada@example.com")

	w := start(t, dir).do(http.MethodGet, "/users/"+u.ID, "", "")
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status: got %d, want %d; body %s", got, want, w.Body)
	}
	var got users.User
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("decoding %q: %v", w.Body, err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("user mismatch (-want +got):\n%s", diff)
	}
}

// TestStorageFailure breaks the bucket (a file where the users/ directory
// belongs) and checks that the client sees a generic 503, never the
// storage error's text.
func TestStorageFailure(t *testing.T) {
	dir := t.TempDir()
	a := start(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
	}{
		{"create", http.MethodPost, "/users", `{"name":"Ada","email":"ada@example.com"}`},
		{"get", http.MethodGet, "/users/" + uuid.NewString(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(tt.method, tt.path, "application/json", tt.body)
			if got, want := w.Code, http.StatusServiceUnavailable; got != want {
				t.Fatalf("status: got %d, want %d; body %s", got, want, w.Body)
			}
			p := problemOf(t, w)
			if p.Detail != "" || strings.Contains(w.Body.String(), dir) {
				t.Errorf("problem leaks internal text: %s", w.Body)
			}
		})
	}
}

func TestInitWithoutBucket(t *testing.T) {
	app := users.New()
	err := app.Init(t.Context(), func(string) string { return "" })
	if err == nil {
		app.Close(context.Background())
		t.Fatal("Init: got nil error, want one naming " + users.BucketEnv)
	}
	if !strings.Contains(err.Error(), users.BucketEnv) {
		t.Errorf("Init error: got %q, want it to name %s", err, users.BucketEnv)
	}
}

func TestDeclaration(t *testing.T) {
	app := users.New()
	if got, want := app.Name(), "users"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	var patterns []string
	for _, r := range app.Routes() {
		patterns = append(patterns, r.Pattern)
	}
	if diff := cmp.Diff([]string{"POST /users", "GET /users/{id}"}, patterns); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	want := []core.Resource{
		{Env: users.APIKeysEnv, Kind: core.KindVariable, Use: core.Read, Optional: true},
		{Env: users.BucketEnv, Kind: core.KindBucket, Use: core.ReadWrite},
		{Env: users.AudienceEnv, Kind: core.KindOIDCAudience},
		{Env: users.IssuerEnv, Kind: core.KindOIDCIssuer},
	}
	if diff := cmp.Diff(want, app.Resources()); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if got := app.Sizing(); got.MemoryMiB != 256 || got.Timeout != 10*time.Second {
		t.Errorf("sizing = %+v, want 256 MiB and 10 s", got)
	}
}

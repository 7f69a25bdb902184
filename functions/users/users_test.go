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
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
)

// bucketURL is a fileblob URL for dir, as the local runtime builds one.
func bucketURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=true&no_tmp_dir=true"}).String()
}

// start starts a users app on a bucket in dir and returns its HTTP handler.
func start(t *testing.T, dir string) http.Handler {
	t.Helper()
	app := users.New()
	env := func(key string) string {
		if key == users.BucketEnv {
			return bucketURL(dir)
		}
		return ""
	}
	if err := app.Init(t.Context(), env); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		if err := app.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return app.HTTPHandler()
}

func serve(t *testing.T, h http.Handler, method, target, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// create posts a valid user and returns it, failing the test unless the
// answer is a 201.
func create(t *testing.T, h http.Handler, name, email string) users.User {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "email": email})
	w := serve(t, h, http.MethodPost, "/users", "application/json", string(body))
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /users: got status %d, want %d; body %s", w.Code, http.StatusCreated, w.Body)
	}
	var u users.User
	if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil {
		t.Fatalf("POST /users: decoding %q: %v", w.Body, err)
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
	h := start(t, t.TempDir())
	before := time.Now().UTC()
	w := serve(t, h, http.MethodPost, "/users", "application/json", `{"name":"  Ada Lovelace ","email":"ada@example.com"}`)
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
	u := create(t, start(t, dir), "Ada", "ada@example.com")

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

func TestCreateInvalid(t *testing.T) {
	h := start(t, t.TempDir())
	tests := []struct {
		name         string
		body         string
		wantPointers []string // "" is a violation of the whole body
	}{
		{"missing name", `{"email":"ada@example.com"}`, []string{"/name"}},
		{"blank name", `{"name":" \t ","email":"ada@example.com"}`, []string{"/name"}},
		{"name too long", `{"name":"` + strings.Repeat("é", 201) + `","email":"ada@example.com"}`, []string{"/name"}},
		{"control character in name", `{"name":"Ada\nLovelace","email":"ada@example.com"}`, []string{"/name"}},
		{"null name", `{"name":null,"email":"ada@example.com"}`, []string{"/name"}},
		{"missing email", `{"name":"Ada"}`, []string{"/email"}},
		{"bad email", `{"name":"Ada","email":"not-an-email"}`, []string{"/email"}},
		{"email with display name", `{"name":"Ada","email":"Ada <ada@example.com>"}`, []string{"/email"}},
		{"email with angle brackets", `{"name":"Ada","email":"<ada@example.com>"}`, []string{"/email"}},
		{"email with surrounding space", `{"name":"Ada","email":" ada@example.com"}`, []string{"/email"}},
		{"two addresses", `{"name":"Ada","email":"ada@example.com, bob@example.com"}`, []string{"/email"}},
		{"email too long", `{"name":"Ada","email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + `.com"}`, []string{"/email"}},
		{"wrong types", `{"name":42,"email":["ada@example.com"]}`, []string{"/name", "/email"}},
		{"empty object", `{}`, []string{"/name", "/email"}},
		{"unknown field", `{"name":"Ada","email":"ada@example.com","admin":true}`, []string{"/admin"}},
		{"every violation", `{"name":"","email":"x","a/b~c":1,"admin":true}`, []string{"/name", "/email", "/a~1b~0c", "/admin"}},
		{"malformed JSON", `{"name":"Ada",`, []string{""}},
		{"empty body", ``, []string{""}},
		{"white space only", " \n ", []string{""}},
		{"trailing garbage", `{"name":"Ada","email":"ada@example.com"} x`, []string{""}},
		{"two objects", `{"name":"Ada","email":"ada@example.com"}{}`, []string{""}},
		{"array", `[{"name":"Ada","email":"ada@example.com"}]`, []string{""}},
		{"null", `null`, []string{""}},
		{"string", `"Ada"`, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, h, http.MethodPost, "/users", "application/json", tt.body)
			if got, want := w.Code, http.StatusBadRequest; got != want {
				t.Fatalf("status: got %d, want %d; body %s", got, want, w.Body)
			}
			p := problemOf(t, w)
			if got, want := p.Type, core.ProblemTypePrefix+"invalid-argument"; got != want {
				t.Errorf("problem type: got %q, want %q", got, want)
			}
			var got []string
			for _, v := range p.Errors {
				got = append(got, v.Pointer)
				if v.Detail == "" {
					t.Errorf("violation at %q has no detail", v.Pointer)
				}
			}
			if diff := cmp.Diff(tt.wantPointers, got); diff != "" {
				t.Errorf("violation pointers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateBodyLimit(t *testing.T) {
	const limit = 1 << 20
	h := start(t, t.TempDir())
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
			w := serve(t, h, http.MethodPost, "/users", "application/json", tt.body)
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
	h := start(t, t.TempDir())
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
			w := serve(t, h, http.MethodPost, "/users", tt.contentType, `{"name":"Ada","email":"ada@example.com"}`)
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
	h := start(t, t.TempDir())
	u := create(t, h, "Ada", "ada@example.com")
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
			w := serve(t, h, http.MethodGet, tt.path, "", "")
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
	u := create(t, start(t, dir), "Ada", "ada@example.com")

	w := serve(t, start(t, dir), http.MethodGet, "/users/"+u.ID, "", "")
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
	h := start(t, dir)
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
			w := serve(t, h, tt.method, tt.path, "application/json", tt.body)
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
	want := []core.Resource{{Env: users.BucketEnv, Kind: core.KindBucket}}
	if diff := cmp.Diff(want, app.Resources()); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
}

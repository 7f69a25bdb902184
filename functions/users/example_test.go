package users_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/middleware/auth"
)

// The users app in a test or a tool: start it with an Env, then serve its
// HTTP handler. Every caller authenticates; this one with an API key from
// the key list in USERS_API_KEYS_URL (a runtime variable). The issuer and
// audience of bearer tokens are required too, though no token is sent.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "users-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	keys := `[{"name":"example-tool","hash":"` + auth.HashAPIKey("example-secret") + `","scopes":["users:read"]}]`
	if err := os.WriteFile(filepath.Join(dir, "api-keys.json"), []byte(keys), 0o600); err != nil {
		panic(err)
	}

	app := users.New()
	ctx := context.Background()
	env := map[string]string{
		users.BucketEnv:   bucketURL(filepath.Join(dir, "bucket")),
		users.IssuerEnv:   "https://login.example.com",
		users.AudienceEnv: "users-api",
		users.APIKeysEnv:  "file://" + filepath.ToSlash(filepath.Join(dir, "api-keys.json")) + "?decoder=bytes",
	}
	if err := app.Init(ctx, func(k string) string { return env[k] }); err != nil {
		panic(err)
	}
	defer app.Close(ctx)
	h := app.HTTPHandler()
	send := func(method, target, key, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if key != "" {
			r.Header.Set("X-API-Key", key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := send(http.MethodPost, "/users", "example-secret", `{"name":"Ada Lovelace","email":"ada@example.com"}`)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))

	w2 := send(http.MethodGet, w.Header().Get("Location"), "example-secret", "")
	fmt.Println(w2.Code, w2.Body.String() == w.Body.String())

	w3 := send(http.MethodPost, "/users", "example-secret", `{"name":"Ada"}`)
	fmt.Println(w3.Code, w3.Header().Get("Content-Type"))

	w4 := send(http.MethodGet, w.Header().Get("Location"), "", "")
	fmt.Println(w4.Code, w4.Header().Get("WWW-Authenticate"))
	// Output:
	// 201 application/json
	// 200 true
	// 400 application/problem+json
	// 401 Bearer realm="polyfn"
}

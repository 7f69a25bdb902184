package users_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/polyfn/polyfn/functions/users"
)

// The users app in a test or a tool: start it with an Env, then serve its
// HTTP handler.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "users-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	app := users.New()
	ctx := context.Background()
	env := map[string]string{users.BucketEnv: bucketURL(dir)}
	if err := app.Init(ctx, func(k string) string { return env[k] }); err != nil {
		panic(err)
	}
	defer app.Close(ctx)
	h := app.HTTPHandler()

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/users",
		strings.NewReader(`{"name":"Ada Lovelace","email":"ada@example.com"}`)))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))

	w2 := httptest.NewRecorder()
	h.ServeHTTP(w2, httptest.NewRequest(http.MethodGet, w.Header().Get("Location"), nil))
	fmt.Println(w2.Code, w2.Body.String() == w.Body.String())

	w3 := httptest.NewRecorder()
	h.ServeHTTP(w3, httptest.NewRequest(http.MethodPost, "/users", strings.NewReader(`{"name":"Ada"}`)))
	fmt.Println(w3.Code, w3.Header().Get("Content-Type"))
	// Output:
	// 201 application/json
	// 200 true
	// 400 application/problem+json
}

package azurefunctions_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

func routes(patterns ...string) []core.Route {
	app := core.NewApp("names")
	for _, p := range patterns {
		app.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	return app.Routes()
}

// azureName is the host's rule for function names
// (Utility.FunctionNameValidationRegex).
var azureName = regexp.MustCompile(`(?i)^[a-z][a-z0-9_\-]{0,127}$`)

func TestFunctionNames(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		events   []string
		want     []string
	}{
		{"users", []string{"POST /users", "GET /users/{id}"}, nil, []string{"post-users", "get-users-id"}},
		{"any method, rest and end wildcards, case and punctuation",
			[]string{"/health", "GET /files/{path...}", "GET /a/{$}", "DELETE /v1/Orders_Items/{orderID}"}, nil,
			[]string{"any-health", "get-files-path", "get-a", "delete-v1-orders-items-orderid"}},
		{"root", []string{"GET /"}, nil, []string{"get-root"}},
		{"a literal and a wildcard that read alike get suffixes: the first 8 hex digits of their patterns' SHA-256",
			[]string{"GET /users/{id}", "GET /users/id", "POST /users"}, nil,
			[]string{"get-users-id-e870987d", "get-users-id-fc0431a6", "post-users"}},
		{"a route named like an event function gets a suffix",
			[]string{"POST /record-order"}, []string{"post-record-order"}, []string{"post-record-order-8d581df5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := azurefunctions.FunctionNames(routes(tt.patterns...), tt.events)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FunctionNames (-want +got):\n%s", diff)
			}
			for _, n := range got {
				if !azureName.MatchString(n) {
					t.Errorf("name %q is not a valid Azure function name", n)
				}
			}
		})
	}
}

func TestFunctionNamesAreStable(t *testing.T) {
	a, _ := azurefunctions.FunctionNames(routes("GET /users/{id}", "GET /users/id"), nil)
	b, _ := azurefunctions.FunctionNames(routes("GET /users/id", "GET /users/{id}", "POST /users"), nil)
	if diff := cmp.Diff([]string{a[1], a[0]}, b[:2]); diff != "" {
		t.Errorf("names depend on order or on unrelated routes (-first +second):\n%s", diff)
	}
	if a[0] == a[1] {
		t.Errorf("two routes share the name %q", a[0])
	}
}

func TestFunctionNamesLongPath(t *testing.T) {
	long := "GET /" + strings.Repeat("segment/", 30) + "{id}"
	got, err := azurefunctions.FunctionNames(routes(long), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !azureName.MatchString(got[0]) {
		t.Errorf("name %q (%d characters) is not a valid Azure function name", got[0], len(got[0]))
	}
}

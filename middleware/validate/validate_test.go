package validate_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/validate"
)

const userSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["name", "email"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 20},
    "email": {"type": "string", "format": "email"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
  }
}`

func TestBodyValidation(t *testing.T) {
	s := validate.MustCompile("user.json", []byte(userSchema))
	reached := 0
	h := validate.Body(s, &validate.BodyOptions{MaxBytes: 200})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			t.Errorf("handler could not read the validated body: %v", err)
		}
		w.WriteHeader(201)
	}))
	tests := []struct {
		name, ct, body string
		wantStatus     int
		wantErrors     []core.Violation
	}{
		{"valid", "application/json", `{"name":"Ada","email":"ada@example.com","tags":["x"]}`, 201, nil},
		{"valid with charset", "application/json; charset=utf-8", `{"name":"Ada","email":"ada@example.com"}`, 201, nil},
		{"every violation listed", "application/json", `{"name":"","email":"nope","tags":["a","b",3],"extra":1}`, 400, []core.Violation{
			{Pointer: "/", Detail: "Additional property 'extra' does not match the schema"},
			{Pointer: "/email", Detail: "Value does not match format 'email'"},
			{Pointer: "/name", Detail: "Value should be at least 1 characters"},
			{Pointer: "/tags", Detail: "Value should have at most 2 items"},
			{Pointer: "/tags/2", Detail: "Value is integer but should be string"},
		}},
		{"missing required", "application/json", `{}`, 400, []core.Violation{{Pointer: "/", Detail: "Required properties 'name', 'email' are missing"}}},
		{"not JSON", "application/json", `{"name":`, 400, []core.Violation{{Detail: "the body is not valid JSON"}}},
		{"wrong type", "application/json", `[1,2]`, 400, []core.Violation{{Pointer: "/", Detail: "Value is array but should be object"}}},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 300) + `"}`, 413, nil},
		{"no content type", "", `{}`, 415, nil},
		{"form content type", "application/x-www-form-urlencoded", `name=a`, 415, nil},
		{"latin-1", "application/json; charset=iso-8859-1", `{}`, 415, nil},
		{"problem+json is JSON", "application/merge-patch+json", `{"name":"Ada","email":"ada@example.com"}`, 201, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/users", strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus >= 400 {
				if reached != before {
					t.Error("the handler was reached")
				}
				var p core.Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tt.wantStatus {
					t.Fatalf("body %s is not a %d problem", rec.Body, tt.wantStatus)
				}
				if tt.wantErrors != nil {
					if diff := cmp.Diff(tt.wantErrors, p.Errors); diff != "" {
						t.Errorf("errors (-want +got):\n%s", diff)
					}
				}
			}
		})
	}
}

func TestQueryValidation(t *testing.T) {
	s := validate.MustCompile("query.json", []byte(`{
		"type": "object",
		"properties": {
			"limit": {"type": "string", "pattern": "^[0-9]{1,3}$"},
			"tag": {"type": "array", "items": {"type": "string"}, "maxItems": 3}
		},
		"additionalProperties": false
	}`))
	h := validate.Query(s)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for q, want := range map[string]int{
		"?limit=10&tag=a":          204,
		"?tag=a&tag=b":             204,
		"?limit=ten":               400,
		"?tag=a&tag=b&tag=c&tag=d": 400,
		"?other=1":                 400,
		"":                         204,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/users"+q, nil))
		if rec.Code != want {
			t.Errorf("%q: status %d, want %d (%s)", q, rec.Code, want, rec.Body)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, doc := range []string{`{`, `{"type": 12}`, `{"$ref": "#/$defs/missing"}`, `{"$ref": "https://example.com/remote.json"}`, `{"pattern": "("}`} {
		if _, err := validate.Compile("bad.json", []byte(doc)); err == nil {
			t.Errorf("Compile(%s) succeeded", doc)
		}
	}
}

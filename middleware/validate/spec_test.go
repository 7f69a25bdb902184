package validate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/validate"
)

// TestViolationsAsTheSpecSays pins the violations the library's result is
// turned into: what draft 2020-12 says fails, each once, at its absolute
// JSON Pointer; and nothing the spec does not say.
func TestViolationsAsTheSpecSays(t *testing.T) {
	type v = core.Violation
	tests := []struct {
		name, schema, doc string
		want              []core.Violation
	}{
		{"format is asserted", `{"type":"string","format":"date-time"}`, `"yesterday"`,
			[]v{{Pointer: "/", Detail: "Value does not match format 'date-time'"}}},
		{"a valid format passes", `{"type":"string","format":"uuid"}`, `"00000000-0000-4000-8000-000000000000"`, nil},
		{"maxLength is checked with format", `{"properties":{"email":{"type":"string","format":"email","maxLength":5}}}`, `{"email":"nope-too-long"}`,
			[]v{{Pointer: "/email", Detail: "Value does not match format 'email'"}, {Pointer: "/email", Detail: "Value should be at most 5 characters"}}},
		{"a missing required property is only required", `{"type":"object","required":["name","email"],"properties":{"name":{"type":"string"},"email":{"type":"string"}}}`, `{"name":5}`,
			[]v{{Pointer: "/", Detail: "Required property 'email' is missing"}, {Pointer: "/name", Detail: "Value is integer but should be string"}}},
		{"a missing required property with a default", `{"required":["a"],"properties":{"a":{"type":"string","default":"x"}}}`, `{}`,
			[]v{{Pointer: "/", Detail: "Required property 'a' is missing"}}},
		{"a missing optional property is no violation", `{"type":"object","properties":{"a":{"type":"string"}}}`, `{}`, nil},
		{"nested locations are absolute and escaped", `{"properties":{"a/b~c":{"properties":{"x":{"items":{"type":"integer"}}}}}}`, `{"a/b~c":{"x":[1,"2",3.5]}}`,
			[]v{{Pointer: "/a~1b~0c/x/1", Detail: "Value is string but should be integer"}, {Pointer: "/a~1b~0c/x/2", Detail: "Value is number but should be integer"}}},
		{"extra properties are reported once", `{"additionalProperties":false,"properties":{"a":{}}}`, `{"a":1,"b":2,"c":3}`,
			[]v{{Pointer: "/", Detail: "Additional properties 'b', 'c' do not match the schema"}}},
		{"an additionalProperties schema reports at the property", `{"additionalProperties":{"type":"string"}}`, `{"a":1}`,
			[]v{{Pointer: "/a", Detail: "Value is integer but should be string"}}},
		{"unevaluatedProperties false", `{"properties":{"t":{"type":"string"}},"unevaluatedProperties":false}`, `{"t":"x","u":1}`,
			[]v{{Pointer: "/", Detail: "Property 'u' does not match the unevaluatedProperties schema"}}},
		{"items false after prefixItems", `{"prefixItems":[{"type":"integer"}],"items":false}`, `[1,2,3]`,
			[]v{{Pointer: "/1", Detail: "No values are allowed because the schema is set to 'false'"}, {Pointer: "/2", Detail: "No values are allowed because the schema is set to 'false'"}}},
		{"through $ref in items", `{"$defs":{"p":{"type":"object","required":["n"],"properties":{"n":{"type":"string"}}}},"type":"array","items":{"$ref":"#/$defs/p"}}`, `[{"n":"x"},{},{"n":1}]`,
			[]v{{Pointer: "/1", Detail: "Required property 'n' is missing"}, {Pointer: "/2/n", Detail: "Value is integer but should be string"}}},
		{"a passing anyOf reports no branch", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `"x"`, nil},
		{"a failing anyOf reports every branch", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `true`,
			[]v{{Pointer: "/", Detail: "Value is boolean but should be integer"}, {Pointer: "/", Detail: "Value is boolean but should be string"}}},
		{"oneOf matching twice", `{"oneOf":[{"type":"integer"},{"type":"number"}]}`, `1`,
			[]v{{Pointer: "/", Detail: "Value should match exactly one schema but matches multiple at indexes 0, 1"}}},
		{"not", `{"not":{"type":"string"}}`, `"x"`, []v{{Pointer: "/", Detail: "Value should not match the not schema"}}},
		{"a failing not subschema passes", `{"not":{"type":"string"}}`, `1`, nil},
		{"if then", `{"if":{"properties":{"k":{"const":"a"}}},"then":{"required":["a"]},"else":{"required":["b"]}}`, `{"k":"a"}`,
			[]v{{Pointer: "/", Detail: "Required property 'a' is missing"}}},
		{"if else", `{"if":{"properties":{"k":{"const":"a"}}},"then":{"required":["a"]},"else":{"required":["b"]}}`, `{"k":"z"}`,
			[]v{{Pointer: "/", Detail: "Value fails the 'if' condition and does not match the 'else' schema"}}},
		{"propertyNames is at the object", `{"propertyNames":{"maxLength":2}}`, `{"abc":1,"ok":2}`,
			[]v{{Pointer: "/", Detail: "Value should be at most 2 characters"}}},
		{"dependentSchemas is at the object", `{"dependentSchemas":{"a":{"required":["b"]}}}`, `{"a":1}`,
			[]v{{Pointer: "/", Detail: "Required property 'b' is missing"}}},
		{"a false property schema", `{"properties":{"a":false}}`, `{"a":1}`,
			[]v{{Pointer: "/a", Detail: "No values are allowed because the schema is set to 'false'"}}},
		{"the false schema", `false`, `1`, []v{{Pointer: "/", Detail: "No values are allowed because the schema is set to 'false'"}}},
		{"big numbers are exact", `{"type":"integer","maximum":10}`, `100000000000000000000000`,
			[]v{{Pointer: "/", Detail: "100000000000000000000000 should be at most 10"}}},
		{"duplicate names are not JSON", `{"type":"object"}`, `{"a":1,"a":2}`, []v{{Detail: "the body is not valid JSON"}}},
		{"invalid UTF-8 is not JSON", `{"type":"object"}`, "{\"a\":\"\xff\"}", []v{{Detail: "the body is not valid JSON"}}},
		{"trailing data is not JSON", `{"type":"object"}`, `{} {}`, []v{{Detail: "the body is not valid JSON"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate.MustCompile("t.json", []byte(tt.schema)).Check([]byte(tt.doc))
			var got []core.Violation
			if err != nil {
				var ve *core.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Check: %v, want a *core.ValidationError", err)
				}
				got = ve.Violations
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryViolationPointers(t *testing.T) {
	s := validate.MustCompile("query.json", []byte(`{
		"type": "object", "required": ["limit"],
		"properties": {"limit": {"type": "string", "pattern": "^[0-9]+$"}, "tag": {"type": "array", "items": {"type": "string", "maxLength": 1}}}
	}`))
	h := validate.Query(s)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for q, want := range map[string][]core.Violation{
		"?limit=x&tag=a&tag=bb": {{Pointer: "/limit", Detail: "Value does not match the required pattern ^[0-9]+$"}, {Pointer: "/tag/1", Detail: "Value should be at most 1 characters"}},
		"?tag=a":                {{Pointer: "/", Detail: "Required property 'limit' is missing"}},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/users"+q, nil))
		var p core.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 400 {
			t.Fatalf("%q: status %d, body %s", q, rec.Code, rec.Body)
		}
		if diff := cmp.Diff(want, p.Errors); diff != "" {
			t.Errorf("%q: errors (-want +got):\n%s", q, diff)
		}
	}
}

// FuzzBody: whatever the body, the middleware either lets it through or
// answers 400 with a problem+json that lists at least one violation, each
// at a location that exists in the body (or none, for a body that is not
// JSON).
func FuzzBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Ada","email":"ada@example.com","tags":["x"]}`,
		`{"name":"","email":"nope","tags":["a","b",3],"extra":1}`,
		`{}`, `[]`, `null`, `"x"`, `{"name":`, `{"a~/b":{"c":[1]}}`, `{"name":5}`, `{"tags":[[],{},null]}`,
		`{"name":"a","name":"b"}`, "{\"name\":\"\xff\"}", `1e999`, `{"email":"` + strings.Repeat("a", 100) + `"}`,
	} {
		f.Add(seed)
	}
	s := validate.MustCompile("user.json", []byte(userSchema))
	h := validate.Body(s, &validate.BodyOptions{MaxBytes: 1 << 16})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
	}))
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/users", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 201:
			var v map[string]any
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("%q passed but is no JSON object: %v", body, err)
			}
			return
		case 400:
		default:
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%q: Content-Type %q", body, ct)
		}
		var p core.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 400 || len(p.Errors) == 0 {
			t.Fatalf("%q: not a 400 problem listing violations: %s", body, rec.Body)
		}
		var doc any
		isJSON := json.Unmarshal([]byte(body), &doc) == nil
		for _, e := range p.Errors {
			if e.Pointer == "" {
				continue // the body as a whole is not JSON
			}
			if !isJSON || !resolves(doc, e.Pointer) {
				t.Errorf("%q: violation at %q, which is not in the body", body, e.Pointer)
			}
		}
	})
}

// resolves reports whether the JSON Pointer p (RFC 6901, "/" for the root
// as the problem's errors write it) names a value in doc.
func resolves(doc any, p string) bool {
	if p == "/" {
		return true
	}
	for _, tok := range strings.Split(p, "/")[1:] {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch v := doc.(type) {
		case map[string]any:
			c, ok := v[tok]
			if !ok {
				return false
			}
			doc = c
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return false
			}
			doc = v[i]
		default:
			return false
		}
	}
	return true
}

// TestConcurrentCheck: one compiled schema serves concurrent requests (run
// with -race).
func TestConcurrentCheck(t *testing.T) {
	s := validate.MustCompile("user.json", []byte(userSchema))
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for range 50 {
				doc := `{"name":"Ada","email":"ada@example.com"}`
				if i%2 == 1 {
					doc = `{"name":"","email":"nope","tags":["a","b",3],"extra":1}`
				}
				if got := s.Check([]byte(doc)); (got == nil) != (i%2 == 0) {
					err = fmt.Errorf("Check(%s) = %v", doc, got)
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestAdditionalPropertiesNamedInOrder: a body with several forbidden
// properties gets the same answer every time, naming them sorted (the
// library meets them in map order).
func TestAdditionalPropertiesNamedInOrder(t *testing.T) {
	s := validate.MustCompile("closed.json", []byte(`{"type":"object","properties":{"a":{}},"additionalProperties":false}`))
	body := `{"a":1,"zeta":1,"beta":1,"mu":1,"alpha":1,"x/y~z":1}`
	want := "Additional properties 'alpha', 'beta', 'mu', 'x/y~z', 'zeta' do not match the schema"
	for range 50 {
		err := s.Check([]byte(body))
		var ve *core.ValidationError
		if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Detail != want {
			t.Fatalf("Check = %v, want one violation %q", err, want)
		}
	}
}

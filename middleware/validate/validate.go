// Package validate checks HTTP requests against JSON Schema (draft 2020-12)
// before they reach a function: the body's content type and size, then the
// body itself, and query parameters. Schemas are compiled once at start-up;
// a failing request gets 400 with an RFC 9457 problem whose "errors" list
// every violation with its JSON pointer.
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kaptinlin/jsonschema"

	"github.com/polyfn/polyfn/core"
)

// Schema is a compiled JSON Schema.
type Schema struct {
	s *jsonschema.Schema
}

// Compile compiles a JSON Schema document. name identifies it in errors
// (typically its file name). Documents without "$schema" are read as draft
// 2020-12; "format" is an assertion, not only an annotation.
func Compile(name string, doc []byte) (*Schema, error) {
	c := jsonschema.NewCompiler()
	c.SetAssertFormat(true)
	// A schema is one document in the binary: nothing is fetched, at start-up
	// or on a request, and a reference it cannot resolve is its error.
	delete(c.Loaders, "http")
	delete(c.Loaders, "https")
	s, err := c.Compile(doc, "polyfn:///"+strings.TrimPrefix(name, "/"))
	if err != nil {
		return nil, fmt.Errorf("validate: schema %s: %w", name, err)
	}
	if refs := s.UnresolvedReferenceURIs(); len(refs) > 0 {
		return nil, fmt.Errorf("validate: schema %s: unresolved references %q", name, refs)
	}
	return &Schema{s: s}, nil
}

// MustCompile is Compile that panics: for schemas embedded in the binary,
// whose errors are programmer errors found at start-up.
func MustCompile(name string, doc []byte) *Schema {
	s, err := Compile(name, doc)
	if err != nil {
		panic(err)
	}
	return s
}

func notJSON() error {
	return &core.ValidationError{Violations: []core.Violation{{Detail: "the body is not valid JSON"}}}
}

// Check validates a JSON document. A document that is not JSON, or breaks
// the schema, gives a *core.ValidationError (code InvalidArgument) listing
// every violation.
func (s *Schema) Check(doc []byte) error {
	r := s.s.ValidateJSON(doc)
	if r.IsValid() {
		return nil
	}
	if e := r.Errors["format"]; e != nil && e.Code == "invalid_json" && len(r.Details) == 0 {
		// The library's decoder is stricter than encoding/json's: it also
		// refuses duplicate names and invalid UTF-8.
		return notJSON()
	}
	var v any // the instance, to place the failures in
	if err := json.Unmarshal(doc, &v); err != nil {
		return notJSON()
	}
	return &core.ValidationError{Violations: violations(r, v)}
}

func (s *Schema) checkValue(v map[string]any) error {
	r := s.s.ValidateMap(v)
	if r.IsValid() {
		return nil
	}
	return &core.ValidationError{Violations: violations(r, v)}
}

// violations flattens an evaluation result into its failures, each once,
// in order of instance location. The library's result is a tree whose
// nodes hold the locations relative to their parent, unescaped; a keyword
// that only says that a subschema failed (properties, items, allOf, $ref…)
// is left out when its subschemas' own failures are listed.
func violations(r *jsonschema.EvaluationResult, doc any) []core.Violation {
	var out []core.Violation
	walk(r, "", doc, &out)
	if len(out) == 0 { // cannot happen for an invalid result; be safe
		out = append(out, core.Violation{Pointer: "/", Detail: "the document does not match the schema"})
	}
	slices.SortFunc(out, func(a, b core.Violation) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Detail, b.Detail)
	})
	return slices.Compact(out)
}

// walk appends r's failures at loc (an absolute JSON Pointer, "" for the
// root) to out and reports whether it appended or skipped any. v is the
// instance at loc.
func walk(r *jsonschema.EvaluationResult, loc string, v any, out *[]core.Violation) bool {
	keywords := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keywords = append(keywords, k)
	}
	slices.Sort(keywords)
	spoke := map[string]bool{} // keywords whose subschemas' failures were listed
	for _, d := range r.Details {
		k := keywordOf(d, r)
		if d.IsValid() || r.Errors[k] == nil || k == "if" || k == "not" {
			continue // a failed "if" or "not" subschema is no violation of its own
		}
		dloc, dv := loc, v
		if k != "propertyNames" && k != "dependentSchemas" && d.InstanceLocation != "" {
			// Those two apply to the object itself, whatever location the
			// library gives them.
			seg := strings.TrimPrefix(d.InstanceLocation, "/")
			var ok bool
			if dv, ok = child(v, seg); !ok {
				// A missing required property, which the library also
				// validates as null: the spec reports only "required".
				spoke[k] = true
				continue
			}
			dloc = loc + "/" + escape(seg)
		}
		if walk(d, dloc, dv, out) {
			spoke[k] = true
		}
	}
	listed := false
	for _, k := range keywords {
		if spoke[k] {
			continue
		}
		if k == "schema" && loc != "" && r.EvaluationPath != "" && isAdditional(r.EvaluationPath) {
			continue // additionalProperties: false says so once, at the object
		}
		p := loc
		if p == "" {
			p = "/"
		}
		*out = append(*out, core.Violation{Pointer: p, Detail: detail(r, k)})
		listed = true
	}
	return listed || len(spoke) > 0
}

// detail is the message of r's failure of keyword k. The library names a
// failing object's additional properties in the order it met them in a
// map, which differs from run to run: the same body must give the same
// answer, so they are named here in sorted order.
func detail(r *jsonschema.EvaluationResult, k string) string {
	e := r.Errors[k]
	if e.Code != "additional_properties_mismatch" {
		return e.Error()
	}
	var names []string
	for _, d := range r.Details {
		if name, ok := strings.CutPrefix(d.EvaluationPath, "/additionalProperties/"); ok && !d.IsValid() {
			names = append(names, "'"+name+"'")
		}
	}
	slices.Sort(names)
	sorted := *e
	sorted.Params = maps.Clone(e.Params)
	sorted.Params["properties"] = strings.Join(names, ", ")
	return sorted.Error()
}

// keywordOf names the keyword of parent whose subschema gave d: the first
// segment of d's evaluation path, or a reference when it has none.
func keywordOf(d, parent *jsonschema.EvaluationResult) string {
	p := strings.TrimPrefix(d.EvaluationPath, "/")
	if p == "" {
		if parent.Errors["$dynamicRef"] != nil && parent.Errors["$ref"] == nil {
			return "$dynamicRef"
		}
		return "$ref"
	}
	k, _, _ := strings.Cut(p, "/")
	return k
}

func isAdditional(path string) bool {
	return strings.HasPrefix(path, "/additionalProperties/") || path == "/unevaluatedProperties"
}

// child is the member seg of an object or the element seg of an array.
func child(v any, seg string) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		c, ok := v[seg]
		return c, ok
	case []any:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= len(v) {
			return nil, false
		}
		return v[i], true
	}
	return nil, false
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// escape makes a property name one JSON Pointer reference token (RFC 6901).
func escape(seg string) string { return pointerEscaper.Replace(seg) }

// BodyOptions tune Body.
type BodyOptions struct {
	// MaxBytes bounds the body; default 1 MiB. Larger bodies get 413.
	MaxBytes int64
}

// Body is middleware that lets a request through only when its body is JSON
// (Content-Type application/json or +json, else 415), at most MaxBytes (else
// 413), and valid against s (else 400 listing every violation). The handler
// reads the body as usual.
func Body(s *Schema, opts *BodyOptions) func(http.Handler) http.Handler {
	limit := int64(1 << 20)
	if opts != nil && opts.MaxBytes > 0 {
		limit = opts.MaxBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := checkContentType(r); err != nil {
				core.WriteError(w, r, err)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				core.WriteError(w, r, core.Errorf(core.TooLarge, "the body is larger than %d bytes", tooLarge.Limit))
				return
			case err != nil:
				core.WriteError(w, r, core.Errorf(core.InvalidArgument, "reading the body: %v", err))
				return
			}
			if err := s.Check(body); err != nil {
				core.WriteError(w, r, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return core.Errorf(core.UnsupportedMediaType, "Content-Type application/json is required")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return core.Errorf(core.UnsupportedMediaType, "Content-Type %q is not JSON", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return core.Errorf(core.UnsupportedMediaType, "charset %q is not UTF-8", cs)
	}
	return nil
}

// Query is middleware that validates the query parameters as a JSON object
// against s: each parameter is a string, or an array of strings when it is
// repeated or the schema's property is an array. Violations point at
// /<parameter>.
func Query(s *Schema) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			obj := map[string]any{}
			for k, vs := range r.URL.Query() {
				if len(vs) == 1 && !s.isArrayProperty(k) {
					obj[k] = vs[0]
					continue
				}
				arr := make([]any, len(vs))
				for i, v := range vs {
					arr[i] = v
				}
				obj[k] = arr
			}
			if err := s.checkValue(obj); err != nil {
				core.WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (s *Schema) isArrayProperty(name string) bool {
	if s.s.Properties == nil {
		return false
	}
	p, ok := (*s.s.Properties)[name]
	return ok && p != nil && slices.Contains(p.Type, "array")
}

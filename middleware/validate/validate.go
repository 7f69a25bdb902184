// Package validate checks HTTP requests against JSON Schema (draft 2020-12)
// before they reach a function: the body's content type and size, then the
// body itself, and query parameters. Schemas are compiled once at start-up;
// a failing request gets 400 with an RFC 9457 problem whose "errors" list
// every violation with its JSON pointer.
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/polyfn/polyfn/core"
)

// Schema is a compiled JSON Schema.
type Schema struct {
	s *jsonschema.Schema
}

// Compile compiles a JSON Schema document. name identifies it in errors
// (typically its file name). Documents without "$schema" are read as draft
// 2020-12.
func Compile(name string, doc []byte) (*Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("validate: schema %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	loc := "polyfn:///" + strings.TrimPrefix(name, "/")
	if err := c.AddResource(loc, v); err != nil {
		return nil, fmt.Errorf("validate: schema %s: %w", name, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("validate: schema %s: %w", name, err)
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

// Check validates a JSON document. A document that is not JSON, or breaks
// the schema, gives a *core.ValidationError (code InvalidArgument) listing
// every violation.
func (s *Schema) Check(doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &core.ValidationError{Violations: []core.Violation{{Detail: "the body is not valid JSON"}}}
	}
	return s.checkValue(v)
}

func (s *Schema) checkValue(v any) error {
	err := s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return core.Wrap(core.Internal, err)
	}
	return &core.ValidationError{Violations: violations(ve)}
}

// violations flattens a validation error into its leaf failures, in order
// of instance location, each once.
func violations(ve *jsonschema.ValidationError) []core.Violation {
	var out []core.Violation
	seen := map[core.Violation]bool{}
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil || len(u.Errors) > 0 {
			continue
		}
		switch u.Error.Kind.(type) {
		case *kind.Group, *kind.Schema, *kind.AllOf, *kind.Reference:
			continue // containers of other failures, not failures of their own
		}
		v := core.Violation{Pointer: u.InstanceLocation, Detail: u.Error.String()}
		if v.Pointer == "" {
			v.Pointer = "/"
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 { // no leaves: report the top error itself
		out = append(out, core.Violation{Pointer: "/", Detail: ve.Error()})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

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
	p, ok := s.s.Properties[name]
	return ok && p.Types != nil && strings.Contains(p.Types.String(), "array")
}

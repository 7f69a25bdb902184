package awslambda

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/polyfn/polyfn/core"
)

// FuzzInvoke feeds arbitrary payloads, seeded with every testdata payload,
// through the whole adapter: it never panics, a reply is JSON, and an error
// is a Lambda function error.
func FuzzInvoke(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `null`, `{}`, `{"Records":[{}]}`, `{"version":"2.0","requestContext":{"http":{"method":"GET"}}}`} {
		f.Add([]byte(s))
	}
	h, rec := newTestHandler(f)
	rec.events = nil // keep nothing: the fuzzer makes millions of events
	rec.fail = func(_ string, e core.Event) error {
		if len(e.ID())%3 == 0 {
			return core.Errorf(core.Unavailable, "one event in three fails")
		}
		return nil
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		reply, err := h.Invoke(lambdaContext(t, time.Now().Add(time.Minute)), payload)
		if err != nil {
			var fe messages.InvokeResponse_Error
			if !errors.As(err, &fe) || fe.Type == "" {
				t.Fatalf("got error %v (%T), want a function error with a type", err, err)
			}
			return
		}
		if !json.Valid(reply) {
			t.Fatalf("reply is not JSON: %q", reply)
		}
	})
}

// FuzzPlainDocument checks the DynamoDB AttributeValue converter: it never
// panics, and what it returns is JSON.
func FuzzPlainDocument(f *testing.F) {
	for _, s := range []string{
		`{"id":{"S":"u1"},"n":{"N":"9007199254740993"}}`,
		`{"m":{"M":{"a":{"L":[{"NULL":true},{"BOOL":false},{"B":"AA=="}]}}}}`,
		`{"s":{"SS":["a"]},"n":{"NS":["1","-2.5e3"]},"b":{"BS":["AA=="]}}`,
		`{"x":{"N":"1 "}}`, `{"x":{}}`, `{"x":{"Q":1}}`, `null`, `[]`, `{"x":{"M":null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // the probe has rejected it before
		}
		out, err := plainDocument(raw)
		if err == nil && out != nil && !json.Valid(out) {
			t.Fatalf("%s gave invalid JSON %s", raw, out)
		}
	})
}

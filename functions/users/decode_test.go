package users

import (
	"errors"
	"net/mail"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/polyfn/polyfn/core"
)

// FuzzDecodeCreate checks that the POST /users decoder never panics, that it
// fails only with a ValidationError, and that what it accepts meets every rule.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"Ada","email":"ada@example.com"}`,
		`{"name":" Ada ","email":"ada@example.com","x":1}`,
		`{"name":null,"email":"Ada <ada@example.com>"}`,
		`{"name":"Ada","email":"\"a b\"@example.com"}`,
		`{"name":"Ada","email":"ada@[127.0.0.1]"}`,
		`{}`, `[]`, `null`, ``, `{"name":`, `{"a/b~c":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeCreate(body)
		if err != nil {
			var ve *core.ValidationError
			if !errors.As(err, &ve) || len(ve.Violations) == 0 {
				t.Fatalf("got error %v (%T), want a ValidationError with violations", err, err)
			}
			if got := core.CodeOf(err); got != core.InvalidArgument {
				t.Fatalf("CodeOf: got %v, want %v", got, core.InvalidArgument)
			}
			return
		}
		if req.Name == "" || req.Name != strings.TrimSpace(req.Name) ||
			utf8.RuneCountInString(req.Name) > maxNameRunes || strings.ContainsFunc(req.Name, unicode.IsControl) {
			t.Errorf("accepted name %q", req.Name)
		}
		if a, err := mail.ParseAddress(req.Email); err != nil || a.Address != req.Email || len(req.Email) > maxEmailLen {
			t.Errorf("accepted email %q", req.Email)
		}
	})
}

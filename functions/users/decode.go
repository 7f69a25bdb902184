package users

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/polyfn/polyfn/core"
)

const (
	maxNameRunes = 200
	maxEmailLen  = 254 // RFC 5321's limit on a forward path, less the angle brackets
)

// createRequest is the validated body of POST /users.
type createRequest struct {
	Name  string // trimmed of surrounding white space
	Email string
}

// decodeCreate decodes and validates the body of POST /users: one JSON object
// with exactly the members "name" and "email". Any failure is a
// *core.ValidationError that lists every violation found, each with a JSON
// pointer into the body (none when the body as a whole is wrong).
func decodeCreate(body []byte) (createRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return createRequest{}, invalid("", "the request body is empty; send a JSON object")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return createRequest{}, invalid("", "the request body must be a JSON object")
		}
		return createRequest{}, invalid("", "the request body is not valid JSON: "+err.Error())
	}
	if members == nil { // the body was null
		return createRequest{}, invalid("", "the request body must be a JSON object")
	}

	var req createRequest
	var vs []core.Violation
	add := func(pointer, format string, args ...any) {
		vs = append(vs, core.Violation{Pointer: pointer, Detail: fmt.Sprintf(format, args...)})
	}

	switch name, ok, isString := stringMember(members, "name"); {
	case !ok:
		add("/name", "is required")
	case !isString:
		add("/name", "must be a string")
	case strings.TrimSpace(name) == "":
		add("/name", "must not be blank")
	case utf8.RuneCountInString(strings.TrimSpace(name)) > maxNameRunes:
		add("/name", "must be at most %d characters", maxNameRunes)
	case strings.ContainsFunc(name, unicode.IsControl):
		add("/name", "must not contain control characters")
	default:
		req.Name = strings.TrimSpace(name)
	}

	switch email, ok, isString := stringMember(members, "email"); {
	case !ok:
		add("/email", "is required")
	case !isString:
		add("/email", "must be a string")
	case len(email) > maxEmailLen:
		add("/email", "must be at most %d bytes", maxEmailLen)
	case !isBareAddress(email):
		add("/email", "must be a bare email address such as ada@example.com, without a display name")
	default:
		req.Email = email
	}

	var unknown []string
	for k := range members {
		if k != "name" && k != "email" {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		add(pointerTo(k), "is not a known field")
	}

	if len(vs) > 0 {
		return createRequest{}, &core.ValidationError{Violations: vs}
	}
	return req, nil
}

// stringMember returns members[key] decoded as a string, whether the member
// is present, and whether it is a JSON string (null is not).
func stringMember(members map[string]json.RawMessage, key string) (s string, ok, isString bool) {
	raw, ok := members[key]
	if !ok {
		return "", false, false
	}
	if err := json.Unmarshal(raw, &s); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", true, false
	}
	return s, true, true
}

// isBareAddress reports whether s is exactly one RFC 5322 address with no
// display name, comment or surrounding space: what mail.ParseAddress returns
// as the address is s itself.
func isBareAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// pointerTo returns the JSON pointer (RFC 6901) to a top-level member.
func pointerTo(member string) string {
	return "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(member)
}

func invalid(pointer, detail string) error {
	return &core.ValidationError{Violations: []core.Violation{{Pointer: pointer, Detail: detail}}}
}

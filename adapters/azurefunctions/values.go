package azurefunctions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The host encodes every value of Data and Metadata in default mode with one
// rule (ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue):
// byte arrays become base64 strings, objects stay objects, and everything
// else (strings, numbers, arrays, URIs) is serialised to JSON text that is
// then sent as a JSON string. So the string "abc" arrives as "\"abc\"", the
// number 1 as "1", and an array of documents as "[{…}]". The helpers here
// undo exactly that, and also accept the plain forms the documentation's
// simplified examples show.

// maxUnwrap bounds how many JSON-string layers are peeled off a value that
// should be an object or array, so that hostile input cannot loop.
const maxUnwrap = 4

// jsonKind returns the first significant byte of a JSON value: '{', '[',
// '"', 't', 'f', 'n', or '0' for a number; 0 for empty input.
func jsonKind(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return '0'
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	k := jsonKind(raw)
	return k == 0 || (k == 'n' && bytes.Equal(bytes.TrimSpace(raw), []byte("null")))
}

// decodeString decodes raw as one JSON string.
func decodeString(raw []byte) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// unquoteOnce returns s with one layer of JSON string encoding removed when
// s is itself a JSON string literal ("\"abc\"" → "abc"), and s unchanged
// otherwise. Only one layer: the host adds exactly one, and a value whose
// own text is quoted must keep its quotes.
func unquoteOnce(s string) string {
	if len(s) < 2 || s[0] != '"' {
		return s
	}
	if u, err := decodeString([]byte(s)); err == nil {
		return u
	}
	return s
}

// metaString decodes a string value: "\"abc\"" (the host's form) and "abc"
// (the documentation's) both give "abc"; a number gives its text.
func metaString(raw json.RawMessage) (string, error) {
	switch jsonKind(raw) {
	case '"':
		s, err := decodeString(raw)
		if err != nil {
			return "", err
		}
		return unquoteOnce(s), nil
	case '0', 't', 'f':
		return string(bytes.TrimSpace(raw)), nil
	}
	return "", fmt.Errorf("want a string, got %s", describe(raw))
}

// metaInt decodes an integer sent as a number (1) or as text ("1", "\"1\"").
func metaInt(raw json.RawMessage) (int64, error) {
	s, err := metaString(raw)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %q", s)
	}
	return n, nil
}

// metaBool decodes a boolean sent as true or as text ("true", "True").
func metaBool(raw json.RawMessage) (bool, error) {
	s, err := metaString(raw)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("want a boolean, got %q", s)
	}
	return b, nil
}

// timeLayouts are the forms .NET gives DateTime and DateTimeOffset values:
// round-trip ISO 8601 with or without fraction and offset. A time without an
// offset is a DateTime of kind UTC (EnqueuedTimeUtc) and is read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// metaTime decodes a time sent as ISO 8601 text, quoted once or twice.
func metaTime(raw json.RawMessage) (time.Time, error) {
	s, err := metaString(raw)
	if err != nil {
		return time.Time{}, err
	}
	return parseTime(s)
}

// parseTime parses an ISO 8601 time in one of timeLayouts.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("want an ISO 8601 time, got %q", s)
}

// unwrapJSON peels JSON-string layers off raw until a value of another kind
// appears: "[{…}]" sent as a string gives the array itself. A string whose
// content is not JSON is returned as that string value.
func unwrapJSON(raw json.RawMessage) (json.RawMessage, error) {
	for range maxUnwrap {
		if jsonKind(raw) != '"' {
			return raw, nil
		}
		s, err := decodeString(raw)
		if err != nil {
			return nil, err
		}
		inner := []byte(s)
		if !json.Valid(inner) {
			return raw, nil
		}
		raw = inner
	}
	if jsonKind(raw) == '"' {
		return nil, fmt.Errorf("more than %d layers of JSON string encoding", maxUnwrap)
	}
	return raw, nil
}

// metaObject decodes an object, sent as itself or as JSON text in a string.
func metaObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	v, err := unwrapJSON(raw)
	if err != nil {
		return nil, err
	}
	if jsonKind(v) != '{' {
		return nil, fmt.Errorf("want an object, got %s", describe(v))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// payloadBytes decodes a trigger payload to the bytes the producer sent.
//
//   - A JSON string whose content is a JSON string literal is the host's
//     string binding ("\"hello\"" → hello, JSON messages too).
//   - Any other JSON string is base64 (a binary binding, blob content);
//     when it is not valid base64 either, it is the documentation's plain
//     text form and is taken as it is.
//   - An object or array is the payload's own JSON.
func payloadBytes(raw json.RawMessage) ([]byte, error) {
	switch jsonKind(raw) {
	case '"':
		s, err := decodeString(raw)
		if err != nil {
			return nil, err
		}
		if len(s) >= 2 && s[0] == '"' {
			if u, err := decodeString([]byte(s)); err == nil {
				return []byte(u), nil
			}
		}
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		return []byte(s), nil
	case '{', '[':
		return bytes.TrimSpace(raw), nil
	case 0:
		return nil, fmt.Errorf("no payload")
	}
	if isNull(raw) {
		return []byte{}, nil
	}
	return bytes.TrimSpace(raw), nil
}

// describe names a JSON value's kind for error messages, without echoing
// the value itself.
func describe(raw []byte) string {
	switch jsonKind(raw) {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '0':
		return "a number"
	}
	return "nothing"
}

// metadata is the Metadata member of a default-mode request: the trigger's
// binding data, keyed case-insensitively as the host's dictionaries are.
type metadata map[string]json.RawMessage

// get returns the value of key, matched exactly first, then ignoring case;
// JSON null counts as absent.
func (m metadata) get(key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, !isNull(v)
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, !isNull(v)
		}
	}
	return nil, false
}

// str returns the string value of the first of keys present, or "".
func (m metadata) str(keys ...string) string {
	for _, k := range keys {
		if v, ok := m.get(k); ok {
			if s, err := metaString(v); err == nil {
				return s
			}
		}
	}
	return ""
}

// time returns the time value of the first of keys present, or zero.
func (m metadata) time(keys ...string) time.Time {
	for _, k := range keys {
		if v, ok := m.get(k); ok {
			if t, err := metaTime(v); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// sys is Metadata.sys, which the host always sends: {MethodName, UtcNow, RandGuid}.
type sys struct {
	MethodName string
	UtcNow     time.Time
}

func (m metadata) sys() sys {
	v, ok := m.get("sys")
	if !ok {
		return sys{}
	}
	o, err := metaObject(v)
	if err != nil {
		return sys{}
	}
	s := metadata(o)
	return sys{MethodName: s.str("MethodName"), UtcNow: s.time("UtcNow")}
}

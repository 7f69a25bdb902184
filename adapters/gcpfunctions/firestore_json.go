package gcpfunctions

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// decodeDocumentEventJSON decodes a DocumentEventData in proto3 JSON. Like
// protojson, it reads each field under its JSON name (oldValue) or its proto
// name (old_value), and int64 and double values as numbers or strings.
func decodeDocumentEventJSON(b []byte) (documentEvent, error) {
	top, err := jsonObject(b)
	if err != nil {
		return documentEvent{}, fmt.Errorf("decoding JSON DocumentEventData: %w", err)
	}
	var d documentEvent
	for k, raw := range top {
		switch protoKey(k) {
		case "value":
			d.value, err = decodeDocumentJSON(raw)
		case "oldvalue":
			d.old, err = decodeDocumentJSON(raw)
		case "updatemask":
			d.mask, err = decodeMaskJSON(raw)
		}
		if err != nil {
			return documentEvent{}, fmt.Errorf("decoding JSON DocumentEventData, %s: %w", k, err)
		}
	}
	return d, nil
}

// protoKey folds a JSON member name so that a field's JSON name and its
// proto name compare equal: "oldValue" and "old_value" are both "oldvalue".
func protoKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

// jsonObject decodes a JSON object; null gives a nil map.
func jsonObject(raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeMaskJSON(raw json.RawMessage) ([]string, error) {
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	var paths []string
	for k, v := range obj {
		if protoKey(k) == "fieldpaths" {
			if err := json.Unmarshal(v, &paths); err != nil {
				return nil, err
			}
		}
	}
	return paths, nil
}

// decodeDocumentJSON decodes a Document; it returns nil for null or an
// empty document.
func decodeDocumentJSON(raw json.RawMessage) (*document, error) {
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	doc := &document{fields: map[string]any{}}
	for k, v := range obj {
		switch protoKey(k) {
		case "name":
			err = json.Unmarshal(v, &doc.name)
		case "fields":
			doc.fields, err = decodeFieldsJSON(v, 0)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return doc.orAbsent(), nil
}

// decodeFieldsJSON decodes a map<string, Value>.
func decodeFieldsJSON(raw json.RawMessage, depth int) (map[string]any, error) {
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	fields := make(map[string]any, len(obj))
	for k, v := range obj {
		if fields[k], err = decodeValueJSON(v, depth); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return fields, nil
}

// decodeValueJSON decodes a Value as plain JSON: an object with one member,
// named for the value's type. An empty object is null.
func decodeValueJSON(raw json.RawMessage, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errors.New("values nest too deeply")
	}
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	if len(obj) > 1 {
		return nil, fmt.Errorf("a value with %d members, want one", len(obj))
	}
	for k, v := range obj {
		return decodeValueMemberJSON(protoKey(k), v, depth)
	}
	return nil, nil
}

func decodeValueMemberJSON(kind string, v json.RawMessage, depth int) (any, error) {
	switch kind {
	case "nullvalue":
		var s any
		if err := json.Unmarshal(v, &s); err != nil || (s != nil && s != "NULL_VALUE" && s != 0.0) {
			return nil, fmt.Errorf("nullValue %s", v)
		}
		return nil, nil
	case "booleanvalue":
		var b bool
		err := json.Unmarshal(v, &b)
		return b, err
	case "integervalue":
		var n jsonInt64
		err := json.Unmarshal(v, &n)
		return int64(n), err
	case "doublevalue":
		var f jsonDouble
		err := json.Unmarshal(v, &f)
		return plainDouble(float64(f)), err
	case "stringvalue", "referencevalue":
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case "bytesvalue":
		return decodeBytesJSON(v)
	case "timestampvalue":
		return decodeTimestampJSON(v)
	case "geopointvalue":
		var p struct{ Latitude, Longitude jsonDouble }
		err := json.Unmarshal(v, &p)
		return plainGeoPoint(float64(p.Latitude), float64(p.Longitude)), err
	case "arrayvalue":
		return decodeArrayJSON(v, depth+1)
	case "mapvalue":
		return decodeMapJSON(v, depth+1)
	}
	return nil, fmt.Errorf("unknown value type %q", kind)
}

func decodeArrayJSON(raw json.RawMessage, depth int) (any, error) {
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	values := []any{}
	for k, v := range obj {
		if protoKey(k) != "values" {
			continue
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return nil, err
		}
		for _, e := range elems {
			x, err := decodeValueJSON(e, depth)
			if err != nil {
				return nil, err
			}
			values = append(values, x)
		}
	}
	return values, nil
}

func decodeMapJSON(raw json.RawMessage, depth int) (any, error) {
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	for k, v := range obj {
		if protoKey(k) == "fields" {
			return decodeFieldsJSON(v, depth)
		}
	}
	return map[string]any{}, nil
}

// decodeBytesJSON reads base64 as proto3 JSON writes it (standard, padded)
// or as it accepts it (URL-safe, or without padding).
func decodeBytesJSON(raw json.RawMessage) (any, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("bytesValue is not base64")
}

func decodeTimestampJSON(raw json.RawMessage) (any, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("timestampValue %q is not an RFC 3339 time", s)
	}
	return plainTimestamp(t.Unix(), int64(t.Nanosecond()))
}

// jsonDouble is a double in proto3 JSON: a number, or a string holding a
// number, "NaN", "Infinity" or "-Infinity".
type jsonDouble float64

func (f *jsonDouble) UnmarshalJSON(b []byte) error {
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else if s == "null" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("double %s: %w", b, err)
	}
	*f = jsonDouble(v)
	return nil
}

package awslambda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// dynamoDBRecord is the part of a DynamoDB Streams record the adapter maps;
// images stay raw until they are converted to plain JSON.
type dynamoDBRecord struct {
	EventID        string `json:"eventID"`
	EventName      string `json:"eventName"`
	EventSourceARN string `json:"eventSourceARN"`
	UserIdentity   *struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	DynamoDB struct {
		ApproximateCreationDateTime json.Number     `json:"ApproximateCreationDateTime"`
		Keys                        json.RawMessage `json:"Keys"`
		NewImage                    json.RawMessage `json:"NewImage"`
		OldImage                    json.RawMessage `json:"OldImage"`
		SequenceNumber              string          `json:"SequenceNumber"`
	} `json:"dynamodb"`
}

var opOf = map[string]core.Op{"INSERT": core.OpInsert, "MODIFY": core.OpModify, "REMOVE": core.OpRemove}

// dynamoDBEvent maps a DynamoDB Streams record to a change event whose
// documents are plain JSON.
func dynamoDBEvent(raw []byte) (core.Event, error) {
	var r dynamoDBRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return core.Event{}, err
	}
	op, ok := opOf[r.EventName]
	if !ok {
		return core.Event{}, fmt.Errorf("eventName %q is not INSERT, MODIFY or REMOVE", r.EventName)
	}
	d := r.DynamoDB
	if r.EventID == "" || d.SequenceNumber == "" {
		return core.Event{}, fmt.Errorf("no eventID or SequenceNumber")
	}
	table, _, _ := strings.Cut(r.EventSourceARN, "/stream/")
	c := &core.Change{
		Source:   table,
		Op:       op,
		ID:       r.EventID,
		Sequence: d.SequenceNumber,
		// Time-to-live deletions are made by DynamoDB itself, in its name.
		ByTTL: op == core.OpRemove && r.UserIdentity != nil &&
			r.UserIdentity.Type == "Service" && r.UserIdentity.PrincipalID == "dynamodb.amazonaws.com",
	}
	var err error
	for _, img := range []struct {
		name string
		in   json.RawMessage
		out  *json.RawMessage
	}{{"Keys", d.Keys, &c.Key}, {"NewImage", d.NewImage, &c.New}, {"OldImage", d.OldImage, &c.Old}} {
		if *img.out, err = plainDocument(img.in); err != nil {
			return core.Event{}, fmt.Errorf("%s: %w", img.name, err)
		}
	}
	return newEvent(core.TypeChange, r.EventID, table, r.EventName, epochSeconds(d.ApproximateCreationDateTime), c), nil
}

// epochSeconds reads ApproximateCreationDateTime: Unix seconds, which may
// carry a fraction.
func epochSeconds(n json.Number) time.Time {
	f, err := n.Float64()
	if err != nil || f <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// plainDocument converts an item in DynamoDB's AttributeValue JSON
// ({"id":{"S":"u1"},"n":{"N":"9007199254740993"}}) to plain JSON
// ({"id":"u1","n":9007199254740993}), or returns nil for an absent image.
// Numbers keep every digit: N is written as the number literal it holds.
// Binary values (B, BS) stay base64 strings; sets (SS, NS, BS) become arrays.
func plainDocument(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var b bytes.Buffer
	if err := writeMap(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeMap writes a map of attribute values (an item, or an M value) with
// its keys in sorted order, so that equal items encode equally.
func writeMap(b *bytes.Buffer, raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return fmt.Errorf("want a map of attribute values, got %.40s", raw)
	}
	b.WriteByte('{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k) // a string always marshals
		b.Write(key)
		b.WriteByte(':')
		if err := writeValue(b, m[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	b.WriteByte('}')
	return nil
}

// writeValue writes one attribute value: an object with exactly one member,
// named by its type.
func writeValue(b *bytes.Buffer, raw json.RawMessage) error {
	var av map[string]json.RawMessage
	if err := json.Unmarshal(raw, &av); err != nil || len(av) != 1 {
		return fmt.Errorf("want an attribute value with one type, got %.40s", raw)
	}
	for typ, v := range av {
		return writeTyped(b, typ, v)
	}
	return nil
}

func writeTyped(b *bytes.Buffer, typ string, v json.RawMessage) error {
	switch typ {
	case "S", "B":
		return writeString(b, v)
	case "N":
		return writeNumber(b, v)
	case "BOOL":
		var t bool
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("BOOL: %v", err)
		}
		b.WriteString(strconv.FormatBool(t))
	case "NULL":
		b.WriteString("null")
	case "M":
		return writeMap(b, v)
	case "L":
		return writeList(b, v, writeValue)
	case "SS", "BS":
		return writeList(b, v, writeString)
	case "NS":
		return writeList(b, v, writeNumber)
	default:
		return fmt.Errorf("unknown attribute value type %q", typ)
	}
	return nil
}

func writeList(b *bytes.Buffer, raw json.RawMessage, elem func(*bytes.Buffer, json.RawMessage) error) error {
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		return fmt.Errorf("want a list, got %.40s", raw)
	}
	b.WriteByte('[')
	for i, v := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := elem(b, v); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	b.WriteByte(']')
	return nil
}

// writeString copies a JSON string as it is, escapes included.
func writeString(b *bytes.Buffer, raw json.RawMessage) error {
	if len(raw) == 0 || raw[0] != '"' {
		return fmt.Errorf("want a string, got %.40s", raw)
	}
	b.Write(raw)
	return nil
}

// writeNumber writes the number a string holds as a JSON number literal,
// with all its digits.
func writeNumber(b *bytes.Buffer, raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !isNumber(s) {
		return fmt.Errorf("want a number in a string, got %.40s", raw)
	}
	b.WriteString(s)
	return nil
}

// isNumber reports whether s is a JSON number literal, the form DynamoDB
// gives its numbers in.
func isNumber(s string) bool {
	if s == "" || !(s[0] == '-' || '0' <= s[0] && s[0] <= '9') {
		return false
	}
	last := s[len(s)-1]
	return '0' <= last && last <= '9' && json.Valid([]byte(s))
}

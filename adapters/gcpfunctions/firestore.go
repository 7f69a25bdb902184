package gcpfunctions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
)

// Firestore document events carry a DocumentEventData
// (google/events/cloud/firestore/v1/data.proto) as protobuf by default, or as
// proto3 JSON for triggers created with --event-data-content-type=application/json.
// Both are decoded here without generated code: see docs/gcp.md for why.
// Documents become plain JSON: integers are JSON numbers with every digit,
// doubles JSON numbers ("NaN", "Infinity" and "-Infinity" as strings, which
// JSON cannot write otherwise), timestamps RFC 3339 strings in UTC, bytes
// base64 strings, geo points {"latitude", "longitude"}, references their
// document names, arrays, maps and null as themselves.

// documentEvent is a decoded DocumentEventData.
type documentEvent struct {
	value, old *document // nil when absent
	mask       []string
}

// document is a decoded Firestore document.
type document struct {
	name   string
	fields map[string]any // plain JSON values, for json.Marshal
}

// orAbsent returns nil for a document with neither a name nor fields:
// Firestore names every document, and its JSON encoding can write an absent
// document as {}.
func (d *document) orAbsent() *document {
	if d.name == "" && len(d.fields) == 0 {
		return nil
	}
	return d
}

// maxValueDepth bounds how deeply values nest. Firestore allows 20 levels of
// maps; the bound keeps hostile input from exhausting the stack.
const maxValueDepth = 100

// The bounds of a protobuf Timestamp: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// decodeChange returns the decoder of a Firestore document event whose
// operation is op; an empty op ("written" events) is taken from which
// documents are present.
func decodeChange(op core.Op) func(*event.Event) (any, error) {
	return func(ce *event.Event) (any, error) {
		d, err := decodeDocumentEvent(ce)
		if err != nil {
			return nil, core.Errorf(core.InvalidArgument, "gcpfunctions: firestore event %q: %w", ce.ID(), err)
		}
		return d.change(ce, op)
	}
}

// decodeDocumentEvent decodes the data in the encoding its content type
// names; no content type means protobuf, Firestore's default.
func decodeDocumentEvent(ce *event.Event) (documentEvent, error) {
	mt := ""
	if ct := ce.DataContentType(); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return documentEvent{}, fmt.Errorf("malformed content type %q", ct)
		}
	}
	switch {
	case mt == "" || mt == "application/protobuf" || mt == "application/x-protobuf":
		return decodeDocumentEventProto(ce.Data())
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return decodeDocumentEventJSON(ce.Data())
	}
	return documentEvent{}, fmt.Errorf("unsupported content type %q", mt)
}

// change builds the neutral change. The document's name is the new
// document's, else the old one's, else the event's subject; its collection
// is the source and its id the key.
func (d documentEvent) change(ce *event.Event, op core.Op) (*core.Change, error) {
	if op == "" {
		switch {
		case d.value == nil && d.old == nil:
			return nil, core.Errorf(core.InvalidArgument, "gcpfunctions: firestore event %q carries no document", ce.ID())
		case d.old == nil:
			op = core.OpInsert
		case d.value == nil:
			op = core.OpRemove
		default:
			op = core.OpModify
		}
	}
	c := &core.Change{Op: op, ID: ce.ID(), UpdateMask: d.mask}
	var err error
	if c.New, err = d.value.json(); err != nil {
		return nil, err
	}
	if c.Old, err = d.old.json(); err != nil {
		return nil, err
	}
	switch {
	case d.value != nil:
		c.Document = d.value.name
	case d.old != nil:
		c.Document = d.old.name
	default:
		c.Document = ce.Subject()
	}
	if i := strings.LastIndexByte(c.Document, '/'); i > 0 {
		c.Source = c.Document[:i]
		c.Key, _ = json.Marshal(path.Base(c.Document))
	}
	return c, nil
}

// json encodes the document's fields as one JSON object, or nil for an
// absent document.
func (d *document) json() (json.RawMessage, error) {
	if d == nil {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d.fields); err != nil {
		return nil, core.Errorf(core.InvalidArgument, "gcpfunctions: encoding document %q: %v", d.name, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// plainDouble is a double as plain JSON: a number, or a string for the
// values JSON has no number for.
func plainDouble(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// plainTimestamp formats a protobuf Timestamp, checking its range.
func plainTimestamp(seconds int64, nanos int64) (string, error) {
	if seconds < minTimestampSeconds || seconds > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return "", fmt.Errorf("timestamp %d.%09d s is out of range", seconds, nanos)
	}
	return time.Unix(seconds, nanos).UTC().Format(time.RFC3339Nano), nil
}

func plainGeoPoint(lat, lng float64) map[string]any {
	return map[string]any{"latitude": plainDouble(lat), "longitude": plainDouble(lng)}
}

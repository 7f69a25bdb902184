package gcpfunctions

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// The field numbers of the Firestore event messages
// (google/events/cloud/firestore/v1/data.proto) and the well-known types
// they use.
const (
	eventValueField    = 1 // DocumentEventData.value: Document
	eventOldValueField = 2 // DocumentEventData.old_value: Document
	eventMaskField     = 3 // DocumentEventData.update_mask: DocumentMask

	maskPathsField = 1 // DocumentMask.field_paths: repeated string

	docNameField   = 1 // Document.name: string
	docFieldsField = 2 // Document.fields: map<string, Value>

	entryKeyField   = 1 // map entry key
	entryValueField = 2 // map entry value

	valueBooleanField   = 1  // bool
	valueIntegerField   = 2  // int64
	valueDoubleField    = 3  // double
	valueReferenceField = 5  // string
	valueMapField       = 6  // MapValue{fields = 1: map<string, Value>}
	valueGeoPointField  = 8  // google.type.LatLng{latitude = 1, longitude = 2: double}
	valueArrayField     = 9  // ArrayValue{values = 1: repeated Value}
	valueTimestampField = 10 // google.protobuf.Timestamp{seconds = 1: int64, nanos = 2: int32}
	valueNullField      = 11 // google.protobuf.NullValue
	valueStringField    = 17 // string
	valueBytesField     = 18 // bytes
)

// wireField is one field of a protobuf message as read from the wire: its
// payload is in bytes (length-delimited) or in scalar (varint, fixed32,
// fixed64).
type wireField struct {
	num    protowire.Number
	typ    protowire.Type
	bytes  []byte
	scalar uint64
}

// eachField calls fn with each field of the message b, in wire order, as
// proto3 parsers read them: for a field that occurs more than once the last
// occurrence wins. Groups, a proto2 feature these messages never use, are
// skipped like unknown fields.
func eachField(b []byte, fn func(wireField) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := wireField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.scalar, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			f.scalar, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.scalar = uint64(v)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n >= 0 {
				b = b[n:]
				continue
			}
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// want checks the field's wire type; a known field of another type is
// malformed.
func (f wireField) want(t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("field %d has wire type %d, want %d", f.num, f.typ, t)
	}
	return nil
}

func (f wireField) str() (string, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return "", err
	}
	if !utf8.Valid(f.bytes) {
		return "", fmt.Errorf("field %d is not valid UTF-8", f.num)
	}
	return string(f.bytes), nil
}

// decodeDocumentEventProto decodes a protobuf DocumentEventData.
func decodeDocumentEventProto(b []byte) (documentEvent, error) {
	var d documentEvent
	err := eachField(b, func(f wireField) error {
		switch f.num {
		case eventValueField, eventOldValueField:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			doc, err := decodeDocumentProto(f.bytes)
			if err != nil {
				return err
			}
			if f.num == eventValueField {
				d.value = doc
			} else {
				d.old = doc
			}
		case eventMaskField:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			d.mask = nil
			return eachField(f.bytes, func(f wireField) error {
				if f.num != maskPathsField {
					return nil
				}
				p, err := f.str()
				d.mask = append(d.mask, p)
				return err
			})
		}
		return nil
	})
	if err != nil {
		return documentEvent{}, fmt.Errorf("decoding protobuf DocumentEventData: %w", err)
	}
	return d, nil
}

// decodeDocumentProto decodes a Document; it returns nil for an empty one.
func decodeDocumentProto(b []byte) (*document, error) {
	doc := &document{fields: map[string]any{}}
	err := eachField(b, func(f wireField) error {
		switch f.num {
		case docNameField:
			var err error
			doc.name, err = f.str()
			return err
		case docFieldsField:
			return decodeEntryProto(f, doc.fields, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc.orAbsent(), nil
}

// decodeEntryProto decodes one map<string, Value> entry into m.
func decodeEntryProto(f wireField, m map[string]any, depth int) error {
	if err := f.want(protowire.BytesType); err != nil {
		return err
	}
	var key string
	var value any
	err := eachField(f.bytes, func(f wireField) error {
		var err error
		switch f.num {
		case entryKeyField:
			key, err = f.str()
		case entryValueField:
			if err = f.want(protowire.BytesType); err == nil {
				value, err = decodeValueProto(f.bytes, depth)
			}
		}
		return err
	})
	m[key] = value
	return err
}

// decodeValueProto decodes a Value as plain JSON. A value with no member of
// its oneof set is null.
func decodeValueProto(b []byte, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errors.New("values nest too deeply")
	}
	var v any
	err := eachField(b, func(f wireField) error {
		var err error
		switch f.num {
		case valueNullField:
			v, err = nil, f.want(protowire.VarintType)
		case valueBooleanField:
			v, err = f.scalar != 0, f.want(protowire.VarintType)
		case valueIntegerField:
			v, err = int64(f.scalar), f.want(protowire.VarintType)
		case valueDoubleField:
			v, err = plainDouble(math.Float64frombits(f.scalar)), f.want(protowire.Fixed64Type)
		case valueStringField, valueReferenceField:
			v, err = f.str()
		case valueBytesField:
			v, err = append([]byte{}, f.bytes...), f.want(protowire.BytesType)
		case valueTimestampField:
			v, err = decodeTimestampProto(f)
		case valueGeoPointField:
			v, err = decodeGeoPointProto(f)
		case valueArrayField:
			v, err = decodeArrayProto(f, depth+1)
		case valueMapField:
			v, err = decodeMapProto(f, depth+1)
		}
		return err
	})
	return v, err
}

func decodeTimestampProto(f wireField) (any, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	var seconds, nanos int64
	err := eachField(f.bytes, func(f wireField) error {
		switch f.num {
		case 1:
			seconds = int64(f.scalar)
		case 2:
			nanos = int64(int32(f.scalar))
		default:
			return nil
		}
		return f.want(protowire.VarintType)
	})
	if err != nil {
		return nil, err
	}
	return plainTimestamp(seconds, nanos)
}

func decodeGeoPointProto(f wireField) (any, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	var lat, lng float64
	err := eachField(f.bytes, func(f wireField) error {
		switch f.num {
		case 1:
			lat = math.Float64frombits(f.scalar)
		case 2:
			lng = math.Float64frombits(f.scalar)
		default:
			return nil
		}
		return f.want(protowire.Fixed64Type)
	})
	if err != nil {
		return nil, err
	}
	return plainGeoPoint(lat, lng), nil
}

func decodeArrayProto(f wireField, depth int) (any, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	values := []any{}
	err := eachField(f.bytes, func(f wireField) error {
		if f.num != 1 {
			return nil
		}
		if err := f.want(protowire.BytesType); err != nil {
			return err
		}
		v, err := decodeValueProto(f.bytes, depth)
		values = append(values, v)
		return err
	})
	return values, err
}

func decodeMapProto(f wireField, depth int) (any, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	fields := map[string]any{}
	err := eachField(f.bytes, func(f wireField) error {
		if f.num != 1 {
			return nil
		}
		return decodeEntryProto(f, fields, depth)
	})
	return fields, err
}

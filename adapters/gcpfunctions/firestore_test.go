package gcpfunctions

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/polyfn/polyfn/core"
)

var update = flag.Bool("update", false, "rewrite the generated testdata files")

// The protobuf builders below write the Firestore event messages field by
// field, after google/events/cloud/firestore/v1/data.proto, to make the
// testdata/firestore/*.pb files (go test -run TestFirestoreTestdata -update).

func pbBytes(num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

func pbString(num protowire.Number, s string) []byte { return pbBytes(num, []byte(s)) }

func pbVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func pbFixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func pbMessage(num protowire.Number, fields ...[]byte) []byte {
	return pbBytes(num, bytes.Join(fields, nil))
}

func pbTimestamp(num protowire.Number, seconds int64, nanos int32) []byte {
	return pbMessage(num, pbVarint(1, uint64(seconds)), pbVarint(2, uint64(nanos)))
}

// Values: each returns the encoded Value message's fields.
func vNull() []byte            { return pbVarint(valueNullField, 0) }
func vBool(b bool) []byte      { return pbVarint(valueBooleanField, protowire.EncodeBool(b)) }
func vInt(n int64) []byte      { return pbVarint(valueIntegerField, uint64(n)) }
func vDouble(f float64) []byte { return pbFixed64(valueDoubleField, math.Float64bits(f)) }
func vString(s string) []byte  { return pbString(valueStringField, s) }
func vBytes(b []byte) []byte   { return pbBytes(valueBytesField, b) }
func vRef(s string) []byte     { return pbString(valueReferenceField, s) }
func vTime(s int64, n int32) []byte {
	return pbTimestamp(valueTimestampField, s, n)
}
func vGeo(lat, lng float64) []byte {
	return pbMessage(valueGeoPointField, pbFixed64(1, math.Float64bits(lat)), pbFixed64(2, math.Float64bits(lng)))
}
func vArray(values ...[]byte) []byte {
	var fields [][]byte
	for _, v := range values {
		fields = append(fields, pbBytes(1, v))
	}
	return pbMessage(valueArrayField, fields...)
}
func vMap(entries ...[]byte) []byte { return pbMessage(valueMapField, entries...) }

// entry is a map<string, Value> entry as field num of its message.
func entry(num protowire.Number, key string, value []byte) []byte {
	return pbMessage(num, pbString(entryKeyField, key), pbBytes(entryValueField, value))
}

func pbDocument(num protowire.Number, name string, fields ...[]byte) []byte {
	return pbMessage(num, append([][]byte{
		pbString(docNameField, name),
		pbTimestamp(3, 1795256940, 0), // create_time
		pbTimestamp(4, 1795257000, 0), // update_time
	}, fields...)...)
}

const (
	docU1 = "projects/my-project/databases/(default)/documents/users/u1"
	docU0 = "projects/my-project/databases/(default)/documents/users/u0"
)

// userFields are the fields of users/u1, one of every value type, with
// visits as given.
func userFields(visits int64) [][]byte {
	return [][]byte{
		entry(docFieldsField, "null", vNull()),
		entry(docFieldsField, "active", vBool(true)),
		entry(docFieldsField, "visits", vInt(visits)),
		entry(docFieldsField, "debt", vInt(-42)),
		entry(docFieldsField, "ratio", vDouble(5.5)),
		entry(docFieldsField, "weird", vDouble(math.NaN())),
		entry(docFieldsField, "joined", vTime(1795257000, 123456000)),
		entry(docFieldsField, "name", vString("Ada <&> Lovelace")),
		entry(docFieldsField, "avatar", vBytes([]byte{0x00, 0xff, 0x10})),
		entry(docFieldsField, "manager", vRef(docU0)),
		entry(docFieldsField, "home", vGeo(51.4543, -0.9781)),
		entry(docFieldsField, "tags", vArray(vString("a"), vInt(1), vMap(entry(1, "x", vBool(true))))),
		entry(docFieldsField, "address", vMap(entry(1, "city", vString("London")), entry(1, "zip", vInt(12345)))),
	}
}

// firestoreTestdata are the protobuf DocumentEventData files.
var firestoreTestdata = map[string][]byte{
	"created.pb": pbDocument(eventValueField, docU1, userFields(9007199254740993)...),
	"updated.pb": bytes.Join([][]byte{
		pbDocument(eventValueField, docU1, userFields(9007199254740994)...),
		pbDocument(eventOldValueField, docU1, userFields(9007199254740993)...),
		pbMessage(eventMaskField, pbString(maskPathsField, "visits")),
	}, nil),
	"deleted.pb": pbDocument(eventOldValueField, docU1, userFields(9007199254740993)...),
}

// userJSON is users/u1 as plain JSON, with visits as given.
func userJSON(visits string) string {
	return `{"active":true,"address":{"city":"London","zip":12345},"avatar":"AP8Q","debt":-42,` +
		`"home":{"latitude":51.4543,"longitude":-0.9781},"joined":"2026-11-21T10:30:00.123456Z",` +
		`"manager":"` + docU0 + `","name":"Ada <&> Lovelace","null":null,"ratio":5.5,` +
		`"tags":["a",1,{"x":true}],"visits":` + visits + `,"weird":"NaN"}`
}

// TestFirestoreTestdata keeps testdata/firestore/*.pb equal to what the
// builders above write; -update rewrites them.
func TestFirestoreTestdata(t *testing.T) {
	for name, want := range firestoreTestdata {
		p := filepath.Join("testdata", "firestore", name)
		if *update {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFirestoreTestdata -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its builder; run go test -run TestFirestoreTestdata -update", p)
		}
	}
}

func TestFirestoreEvents(t *testing.T) {
	u1 := json.RawMessage(userJSON("9007199254740993"))
	u1Next := json.RawMessage(userJSON("9007199254740994"))
	base := core.Change{ID: "evt-1", Source: "projects/my-project/databases/(default)/documents/users",
		Document: docU1, Key: json.RawMessage(`"u1"`)}
	with := func(f func(*core.Change)) *core.Change {
		c := base
		f(&c)
		return &c
	}
	inserted := with(func(c *core.Change) { c.Op, c.New = core.OpInsert, u1 })
	modified := with(func(c *core.Change) { c.Op, c.New, c.Old, c.UpdateMask = core.OpModify, u1Next, u1, []string{"visits"} })
	removed := with(func(c *core.Change) { c.Op, c.Old = core.OpRemove, u1 })
	tests := []struct {
		name, typ, contentType, file string
		want                         *core.Change
	}{
		{"created protobuf", typeDocumentCreated, "application/protobuf", "created.pb", inserted},
		{"created protobuf, no content type", typeDocumentCreated, "", "created.pb", inserted},
		{"created JSON", typeDocumentCreated, "application/json", "created.json", inserted},
		{"created JSON with proto names", typeDocumentCreated, "application/json", "created-proto-names.json", inserted},
		{"updated protobuf", typeDocumentUpdated, "application/protobuf", "updated.pb", modified},
		{"updated JSON", typeDocumentUpdated, "application/json; charset=utf-8", "updated.json", modified},
		{"deleted protobuf", typeDocumentDeleted, "application/protobuf", "deleted.pb", removed},
		{"deleted JSON", typeDocumentDeleted, "application/json", "deleted.json", removed},
		{"written, insert", typeDocumentWritten, "application/protobuf", "created.pb", inserted},
		{"written, modify", typeDocumentWritten, "application/protobuf", "updated.pb", modified},
		{"written, remove", typeDocumentWritten, "application/protobuf", "deleted.pb", removed},
		{"written with auth context", typeDocumentWritten + withAuthContext, "application/json", "updated.json", modified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := testEvent(t, tt.typ, "//firestore.googleapis.com/projects/my-project/databases/(default)",
				"documents/users/u1", tt.contentType, readTestdata(t, "firestore", tt.file))
			e, err := toNeutral(ce, core.ChangeTrigger{Source: "USERS_COLLECTION"}, "on-user")
			if err != nil {
				t.Fatal(err)
			}
			if e.Type() != core.TypeChange || e.NativeType() != tt.typ {
				t.Errorf("type %q, native type %q; want %q, %q", e.Type(), e.NativeType(), core.TypeChange, tt.typ)
			}
			if diff := cmp.Diff(tt.want, e.Change); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFirestoreGoogleTestdata decodes Google's own JSON example
// (google-cloudevents testdata DocumentEventData-complex.json), whose empty
// oldValue and updateMask mean a created document.
func TestFirestoreGoogleTestdata(t *testing.T) {
	ce := testEvent(t, typeDocumentWritten, "//firestore.googleapis.com/projects/project-id/databases/(default)",
		"documents/gcf-test/IH75dRdeYJKd4uuQiqch", "application/json", readTestdata(t, "firestore", "google-complex.json"))
	e, err := toNeutral(ce, core.ChangeTrigger{Source: "TEST_COLLECTION"}, "on-test")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"arrayValue":[1,2],"booleanValue":true,"doubleValue":5.5,` +
		`"geoPointValue":{"latitude":51.4543,"longitude":-0.9781},"intValue":50,` +
		`"mapValue":{"field1":"x","field2":["x",1]},"nullValue":null,` +
		`"referenceValue":"projects/project-id/databases/(default)/documents/foo/bar/baz/qux",` +
		`"stringValue":"text","timestampValue":"2020-04-23T14:23:53.241Z"}`
	if e.Change.Op != core.OpInsert || string(e.Change.New) != want || e.Change.Old != nil {
		t.Errorf("op %q, new %s, old %s; want insert, %s, none", e.Change.Op, e.Change.New, e.Change.Old, want)
	}
}

func TestFirestoreMalformed(t *testing.T) {
	doc := func(fields ...[]byte) []byte { return pbDocument(eventValueField, docU1, fields...) }
	tests := []struct {
		name, typ, contentType string
		data                   []byte
	}{
		{"truncated protobuf", typeDocumentCreated, "application/protobuf", firestoreTestdata["created.pb"][:40]},
		{"wrong wire type", typeDocumentCreated, "application/protobuf", pbVarint(eventValueField, 1)},
		{"invalid UTF-8 name", typeDocumentCreated, "application/protobuf", pbMessage(eventValueField, pbString(docNameField, "users/\xff"))},
		{"invalid UTF-8 string", typeDocumentCreated, "application/protobuf", doc(entry(docFieldsField, "s", pbString(valueStringField, "\xff")))},
		{"timestamp out of range", typeDocumentCreated, "application/protobuf", doc(entry(docFieldsField, "t", vTime(maxTimestampSeconds+1, 0)))},
		{"negative nanos", typeDocumentCreated, "application/protobuf", doc(entry(docFieldsField, "t", vTime(0, -1)))},
		{"too deep", typeDocumentCreated, "application/protobuf", doc(entry(docFieldsField, "deep", deepArray(maxValueDepth+2)))},
		{"written without documents", typeDocumentWritten, "application/protobuf", nil},
		{"unsupported content type", typeDocumentCreated, "text/plain", []byte("x")},
		{"malformed content type", typeDocumentCreated, "application/", []byte("x")},
		{"JSON not an object", typeDocumentCreated, "application/json", []byte(`[]`)},
		{"JSON value with two members", typeDocumentCreated, "application/json",
			[]byte(`{"value":{"name":"` + docU1 + `","fields":{"a":{"stringValue":"x","integerValue":"1"}}}}`)},
		{"JSON integer not an integer", typeDocumentCreated, "application/json",
			[]byte(`{"value":{"name":"` + docU1 + `","fields":{"a":{"integerValue":"1.5"}}}}`)},
		{"JSON bad timestamp", typeDocumentCreated, "application/json",
			[]byte(`{"value":{"name":"` + docU1 + `","fields":{"a":{"timestampValue":"yesterday"}}}}`)},
		{"JSON bad bytes", typeDocumentCreated, "application/json",
			[]byte(`{"value":{"name":"` + docU1 + `","fields":{"a":{"bytesValue":"!!"}}}}`)},
		{"JSON unknown value type", typeDocumentCreated, "application/json",
			[]byte(`{"value":{"name":"` + docU1 + `","fields":{"a":{"vectorValue":{}}}}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := testEvent(t, tt.typ, "//firestore.googleapis.com/projects/p/databases/(default)", "", tt.contentType, tt.data)
			_, err := toNeutral(ce, core.ChangeTrigger{Source: "USERS_COLLECTION"}, "on-user")
			if core.CodeOf(err) != core.InvalidArgument {
				t.Fatalf("error %v (code %v), want an InvalidArgument error", err, core.CodeOf(err))
			}
			if !strings.HasPrefix(err.Error(), "gcpfunctions: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// deepArray is a Value of n arrays, each in the one before.
func deepArray(n int) []byte {
	v := vNull()
	for range n {
		v = vArray(v)
	}
	return v
}

// TestFirestoreDoubles covers the values JSON numbers cannot hold.
func TestFirestoreDoubles(t *testing.T) {
	data := pbDocument(eventValueField, docU1,
		entry(docFieldsField, "inf", vDouble(math.Inf(1))),
		entry(docFieldsField, "ninf", vDouble(math.Inf(-1))),
		entry(docFieldsField, "big", vDouble(1e300)),
		entry(docFieldsField, "whole", vDouble(3)))
	ce := testEvent(t, typeDocumentCreated, "//firestore.googleapis.com/projects/p/databases/(default)", "", "application/protobuf", data)
	e, err := toNeutral(ce, core.ChangeTrigger{Source: "USERS_COLLECTION"}, "on-user")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"big":1e+300,"inf":"Infinity","ninf":"-Infinity","whole":3}`; string(e.Change.New) != want {
		t.Errorf("new = %s, want %s", e.Change.New, want)
	}
}

func FuzzFirestoreProto(f *testing.F) {
	for _, b := range firestoreTestdata {
		f.Add(b)
	}
	f.Add(pbDocument(eventValueField, docU1, entry(docFieldsField, "deep", deepArray(maxValueDepth+2))))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := decodeDocumentEventProto(b); err == nil {
			checkDocuments(t, d)
		}
	})
}

func FuzzFirestoreJSON(f *testing.F) {
	for _, name := range []string{"created.json", "updated.json", "deleted.json", "google-complex.json", "created-proto-names.json"} {
		f.Add(readTestdata(f, "firestore", name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := decodeDocumentEventJSON(b); err == nil {
			checkDocuments(t, d)
		}
	})
}

// checkDocuments checks that decoded documents encode as JSON objects.
func checkDocuments(t *testing.T, d documentEvent) {
	t.Helper()
	for _, doc := range []*document{d.value, d.old} {
		b, err := doc.json()
		if err != nil {
			t.Fatal(err)
		}
		if doc != nil && (!json.Valid(b) || b[0] != '{') {
			t.Fatalf("document %s is not a JSON object", b)
		}
	}
}

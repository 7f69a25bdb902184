package core_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func mustEvent(t *testing.T, typ, id, source string, data any) core.Event {
	t.Helper()
	e, err := core.NewEvent(typ, id, source, data)
	if err != nil {
		t.Fatalf("NewEvent(%q): %v", typ, err)
	}
	return e
}

var when = time.Date(2026, 11, 21, 10, 30, 0, 123456789, time.UTC)

func TestEventJSONRoundTrip(t *testing.T) {
	big := int64(1)<<53 + 1
	tests := []struct {
		name string
		typ  string
		data any
		kind core.Kind
	}{
		{"object created", core.TypeObjectCreated, &core.Object{
			Bucket: "media", Key: "uploads/red flower+1 ü.jpg", Size: big, ContentType: "image/jpeg",
			ETag: `"d41d8cd98f00b204e9800998ecf8427e-2"`, Version: "3", Content: []byte{0, 1, 2, 0xff}, EventName: "ObjectCreated:Put",
		}, core.KindObjectCreated},
		{"object deleted", core.TypeObjectDeleted, &core.Object{Bucket: "media", Key: "a/b"}, core.KindObjectDeleted},
		{"message", core.TypeMessage, &core.Message{
			ID: "m-1", Body: []byte("\x00binary\xffbody"), Attributes: map[string]string{"k": "v", "bin": "AAE="},
			DeliveryCount: 3, PublishTime: when, OrderingKey: "customer-7", DedupID: "d-1", Sequence: "18446744073709551615",
			Subscription: "projects/p/subscriptions/s", ContentType: "application/octet-stream",
		}, core.KindMessage},
		{"message with empty body", core.TypeMessage, &core.Message{ID: "m-2", Body: []byte{}}, core.KindMessage},
		{"change", core.TypeChange, &core.Change{
			Source: "arn:aws:dynamodb:eu-west-1:123456789012:table/users", Op: core.OpModify, ID: "c-1", Sequence: "111",
			Key: json.RawMessage(`{"id":"u1"}`), New: json.RawMessage(`{"id":"u1","n":9007199254740993}`),
			Old: json.RawMessage(`{"id":"u1","n":1}`), UpdateMask: []string{"n"},
		}, core.KindChange},
		{"ttl removal", core.TypeChange, &core.Change{Op: core.OpRemove, Old: json.RawMessage(`{"id":"x"}`), ByTTL: true}, core.KindChange},
		{"timer", core.TypeTimer, &core.Timer{Name: "nightly", ScheduledTime: when, PastDue: true, Attempt: 2, Payload: []byte(`{"job":"x"}`)}, core.KindTimer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEvent(t, tt.typ, "id-1", "//storage/test", tt.data)
			e.SetSubject("subject/1")
			e.SetTime(when)
			e.SetExtension(core.NativeTypeExtension, "native.type")
			if got := e.Kind(); got != tt.kind {
				t.Fatalf("Kind() = %q, want %q", got, tt.kind)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got core.Event
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if got.ID() != "id-1" || got.Type() != tt.typ || got.Source() != "//storage/test" ||
				got.Subject() != "subject/1" || !got.Time().Equal(when) || got.NativeType() != "native.type" {
				t.Errorf("envelope after round trip = %s", got.String())
			}
			var gotData any
			switch tt.kind {
			case core.KindObjectCreated, core.KindObjectDeleted:
				gotData = got.Object
			case core.KindMessage:
				gotData = got.Message
			case core.KindChange:
				gotData = got.Change
			case core.KindTimer:
				gotData = got.Timer
			}
			if diff := cmp.Diff(tt.data, gotData); diff != "" {
				t.Errorf("data after round trip (-want +got):\n%s", diff)
			}
			if n := countSet(got); n != 1 {
				t.Errorf("%d typed data fields set, want exactly 1", n)
			}
		})
	}
}

func countSet(e core.Event) int {
	n := 0
	for _, set := range []bool{e.Object != nil, e.Message != nil, e.Change != nil, e.Timer != nil} {
		if set {
			n++
		}
	}
	return n
}

// TestEventJSONGolden pins the published JSON form of each kind: a change
// here is a change of a documented format (docs/events.md).
func TestEventJSONGolden(t *testing.T) {
	e := mustEvent(t, core.TypeMessage, "m-1", "mem://orders", &core.Message{
		ID: "m-1", Body: []byte(`{"id":"o-1"}`), Attributes: map[string]string{"content-type": "application/json"},
		DeliveryCount: 1, PublishTime: when,
	})
	e.SetTime(when)
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "message-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normJSON(t, want), normJSON(t, got)); diff != "" {
		t.Errorf("message event JSON (-want +got):\n%s", diff)
	}
}

func normJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

func TestEventCustomKindKeepsData(t *testing.T) {
	in := `{"specversion":"1.0","id":"e1","source":"aws.events","type":"com.example.order.shipped",
		"datacontenttype":"application/json","data":{"orderId":"o-9","n":9007199254740993}}`
	var e core.Event
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	if e.Kind() != core.KindCustom || countSet(e) != 0 {
		t.Fatalf("Kind() = %q with %d typed fields, want custom with none", e.Kind(), countSet(e))
	}
	if got, want := string(e.Data()), `{"orderId":"o-9","n":9007199254740993}`; got != want {
		t.Errorf("Data() = %s, want %s", got, want)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normJSON(t, []byte(in)), normJSON(t, out)); diff != "" {
		t.Errorf("custom event re-encoded (-want +got):\n%s", diff)
	}
}

func TestEventUnmarshalRejects(t *testing.T) {
	tests := []struct{ name, in, wantSub string }{
		{"not JSON", `{`, "decoding event"},
		{"no id", `{"specversion":"1.0","source":"s","type":"t"}`, "id"},
		{"wrong spec version", `{"specversion":"0.1","id":"1","source":"s","type":"t"}`, ""},
		{"typed kind without data", `{"specversion":"1.0","id":"1","source":"s","type":"dev.polyfn.timer.fired"}`, "no data"},
		{"typed kind with wrong data", `{"specversion":"1.0","id":"1","source":"s","type":"dev.polyfn.message.received","data":{"body_base64":12}}`, "decoding message data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := core.ParseEvent([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseEvent(%s) succeeded, want an error", tt.in)
			}
			if got := core.CodeOf(err); got != core.InvalidArgument {
				t.Errorf("CodeOf(%v) = %v, want InvalidArgument", err, got)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not mention %q", err, tt.wantSub)
			}
		})
	}
}

func TestNewEventChecksData(t *testing.T) {
	if _, err := core.NewEvent(core.TypeTimer, "1", "s", &core.Message{}); err == nil {
		t.Error("NewEvent(timer type, message data) succeeded, want an error")
	}
	if _, err := core.NewEvent(core.TypeMessage, "1", "s", "a string"); err == nil {
		t.Error("NewEvent(message type, string data) succeeded, want an error")
	}
	if _, err := core.NewEvent("com.example.custom", "1", "s", &core.Timer{}); err == nil {
		t.Error("NewEvent(custom type, timer data) succeeded, want an error")
	}
}

func FuzzEventUnmarshal(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"dev.polyfn.message.received","data":{"id":"1","body_base64":"aGk="}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"dev.polyfn.object.created","data":{"bucket":"b","key":"k","size":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"x","data_base64":"AAE="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e core.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal of an accepted event failed: %v", err)
		}
		var again core.Event
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if again.Kind() != e.Kind() || again.ID() != e.ID() {
			t.Fatalf("round trip changed kind/id: %v/%v → %v/%v", e.Kind(), e.ID(), again.Kind(), again.ID())
		}
	})
}

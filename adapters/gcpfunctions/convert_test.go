package gcpfunctions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

var eventTime = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// testEvent is a Google CloudEvent as the framework hands it to a function.
func testEvent(t testing.TB, typ, source, subject, contentType string, data []byte) *event.Event {
	t.Helper()
	ce := event.New()
	ce.SetID("evt-1")
	ce.SetType(typ)
	ce.SetSource(source)
	ce.SetSubject(subject)
	ce.SetTime(eventTime)
	if data != nil {
		if err := ce.SetData(contentType, data); err != nil {
			t.Fatal(err)
		}
	} else {
		ce.SetDataContentType(contentType)
	}
	return &ce
}

func readTestdata(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const bucketSource = "//storage.googleapis.com/projects/_/buckets/media-bucket"

func TestStorageEvents(t *testing.T) {
	tests := []struct {
		name, typ, file, source string
		wantType                string
		want                    *core.Object
	}{
		{"finalized, int64 as strings, name not encoded", typeObjectFinalized, "finalized.json", bucketSource,
			core.TypeObjectCreated, &core.Object{Bucket: "media-bucket", Key: "uploads/red+flower 1.jpg",
				Size: 9007199254740993, ContentType: "image/jpeg", ETag: "CMDn0Lz/lvsCEAE=",
				Version: "1700000000123456", EventName: typeObjectFinalized, StorageClass: "STANDARD"}},
		{"finalized, int64 as numbers (Google's testdata)", typeObjectFinalized, "complex-numbers.json",
			"//storage.googleapis.com/projects/_/buckets/sample-bucket",
			core.TypeObjectCreated, &core.Object{Bucket: "sample-bucket", Key: "MyFile", ContentType: "esse commodo",
				ETag: "COu8mb3Dn+kCEAE=", Version: "96883251", EventName: typeObjectFinalized, StorageClass: "MULTI_REGIONAL"}},
		{"deleted", typeObjectDeleted, "deleted.json", bucketSource,
			core.TypeObjectDeleted, &core.Object{Bucket: "media-bucket", Key: "uploads/cat.png", Size: 2048,
				ContentType: "image/png", ETag: "CLHi8Yz/lvsCEAE=", Version: "1700000000654321", EventName: typeObjectDeleted}},
		// The live version became noncurrent: the removal a reader sees.
		{"archived", typeObjectArchived, "archived.json", bucketSource,
			core.TypeObjectDeleted, &core.Object{Bucket: "media-bucket", Key: "reports/2026-11.csv", Size: 4096,
				ContentType: "text/csv", ETag: "CI7r6/r/lvsCEAE=", Version: "1700000000222222", EventName: typeObjectArchived,
				StorageClass: "NEARLINE"}},
		{"metadata updated", typeObjectMetadataUpdated, "metadata-updated.json", bucketSource,
			core.TypeObjectUpdated, &core.Object{Bucket: "media-bucket", Key: "uploads/cat.png", Size: 2048,
				ContentType: "image/png", ETag: "CLHi8Yz/lvsCEAI=", Version: "1700000000654321", EventName: typeObjectMetadataUpdated,
				StorageClass: "COLDLINE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := testEvent(t, tt.typ, tt.source, "objects/"+tt.want.Key, "application/json", readTestdata(t, "storage", tt.file))
			trigger := core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Events: core.ObjectKinds}
			e, err := toNeutral(ce, trigger, "on-upload")
			if err != nil {
				t.Fatal(err)
			}
			checkEnvelope(t, e, tt.wantType, tt.typ, tt.source)
			if filtered(trigger, e) {
				t.Errorf("a trigger of every object kind declines the %s event", e.Kind())
			}
			if e.Subject() != tt.want.Key {
				t.Errorf("subject = %v, want the key %s", e.Subject(), tt.want.Key)
			}
			if diff := cmp.Diff(tt.want, e.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStorageBucketFromSource(t *testing.T) {
	ce := testEvent(t, typeObjectFinalized, bucketSource, "", "application/json", []byte(`{"name":"a.txt","size":"3"}`))
	e, err := toNeutral(ce, core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"}, "on-upload")
	if err != nil {
		t.Fatal(err)
	}
	if e.Object.Bucket != "media-bucket" || e.Object.Size != 3 {
		t.Errorf("object = %+v, want bucket media-bucket, size 3", e.Object)
	}
}

// checkEnvelope checks what every neutral event keeps of the native one.
func checkEnvelope(t *testing.T, e core.Event, wantType, nativeType, source string) {
	t.Helper()
	if e.Type() != wantType || e.NativeType() != nativeType || e.ID() != "evt-1" ||
		e.Source() != source || !e.Time().Equal(eventTime) {
		t.Errorf("envelope type %q native %q id %q source %q time %v; want %q %q evt-1 %q %v",
			e.Type(), e.NativeType(), e.ID(), e.Source(), e.Time(), wantType, nativeType, source, eventTime)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("invalid envelope: %v", err)
	}
}

const topicSource = "//pubsub.googleapis.com/projects/my-project/topics/orders"

func TestPubSubEvents(t *testing.T) {
	tests := []struct {
		name, file string
		want       *core.Message
	}{
		{"every field, both spellings", "full.json", &core.Message{
			ID: "2070443601311540", Body: []byte(`{"id":"A-1001"}`),
			Attributes:    map[string]string{"content-type": "application/json", "origin": "checkout"},
			DeliveryCount: 3, PublishTime: time.Date(2026, 11, 21, 10, 30, 0, 123456789, time.UTC),
			OrderingKey:  "customer-7",
			Subscription: "projects/my-project/subscriptions/eventarc-europe-west1-record-order-sub-123",
			ContentType:  "application/json"}},
		{"Google's duplicated fields", "duplicated-fields.json", &core.Message{
			ID: "message-id", Body: []byte{1, 2, 3, 4}, PublishTime: time.Date(2021, 2, 5, 4, 6, 14, 109000000, time.UTC),
			Subscription: "projects/my-project/subscriptions/my-subscription"}},
		{"attributes only: data absent", "attributes-only.json", &core.Message{
			ID: "7", Attributes: map[string]string{"scheduler-job": "nightly-report"},
			PublishTime: time.Date(2026, 11, 22, 3, 0, 0, 4000000, time.UTC), Subscription: "projects/my-project/subscriptions/nightly"}},
		{"snake case only", "snake-case.json", &core.Message{
			ID: "42", Body: []byte("hello"), PublishTime: time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC), OrderingKey: "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := testEvent(t, typeMessagePublished, topicSource, "", "application/json", readTestdata(t, "pubsub", tt.file))
			e, err := toNeutral(ce, core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL"}, "record-order")
			if err != nil {
				t.Fatal(err)
			}
			checkEnvelope(t, e, core.TypeMessage, typeMessagePublished, topicSource)
			if diff := cmp.Diff(tt.want, e.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSchedulerThroughPubSub(t *testing.T) {
	tests := []struct {
		name, file string
		want       *core.Timer
	}{
		{"job attribute", "attributes-only.json", &core.Timer{Name: "nightly-report",
			ScheduledTime: time.Date(2026, 11, 22, 3, 0, 0, 4000000, time.UTC)}},
		{"no job attribute: named after the function, data is the payload", "full.json", &core.Timer{Name: "tick",
			ScheduledTime: time.Date(2026, 11, 21, 10, 30, 0, 123456789, time.UTC), Attempt: 3, Payload: []byte(`{"id":"A-1001"}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := testEvent(t, typeMessagePublished, topicSource, "", "application/json", readTestdata(t, "pubsub", tt.file))
			e, err := toNeutral(ce, core.TimerTrigger{Schedule: "0 3 * * *"}, "tick")
			if err != nil {
				t.Fatal(err)
			}
			checkEnvelope(t, e, core.TypeTimer, typeMessagePublished, topicSource)
			if diff := cmp.Diff(tt.want, e.Timer); diff != "" {
				t.Errorf("timer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedData(t *testing.T) {
	tests := []struct {
		name, typ, data string
		trigger         core.Trigger
	}{
		{"storage: not JSON", typeObjectFinalized, `{`, core.ObjectTrigger{Bucket: "B"}},
		{"storage: no name", typeObjectFinalized, `{"bucket":"b"}`, core.ObjectTrigger{Bucket: "B"}},
		{"storage: negative size", typeObjectFinalized, `{"bucket":"b","name":"n","size":"-1"}`, core.ObjectTrigger{Bucket: "B"}},
		{"storage: size not a number", typeObjectFinalized, `{"bucket":"b","name":"n","size":"big"}`, core.ObjectTrigger{Bucket: "B"}},
		{"pub/sub: no message", typeMessagePublished, `{"subscription":"s"}`, core.MessageTrigger{Subscription: "S"}},
		{"pub/sub: data not base64", typeMessagePublished, `{"message":{"data":"!!"}}`, core.MessageTrigger{Subscription: "S"}},
		{"pub/sub: bad publish time", typeMessagePublished, `{"message":{"publishTime":"now"}}`, core.MessageTrigger{Subscription: "S"}},
		{"pub/sub: bad publish_time", typeMessagePublished, `{"message":{"publish_time":"now"}}`, core.MessageTrigger{Subscription: "S"}},
		{"pub/sub: negative delivery attempt", typeMessagePublished, `{"message":{},"deliveryAttempt":-1}`, core.MessageTrigger{Subscription: "S"}},
		{"timer: no message", typeMessagePublished, `null`, core.TimerTrigger{Schedule: "@hourly"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := testEvent(t, tt.typ, "//storage.googleapis.com/projects/_/buckets/", "", "application/json", []byte(tt.data))
			_, err := toNeutral(ce, tt.trigger, "fn")
			if core.CodeOf(err) != core.InvalidArgument || !strings.HasPrefix(err.Error(), "gcpfunctions: ") {
				t.Errorf("error %v (code %v), want a gcpfunctions InvalidArgument error", err, core.CodeOf(err))
			}
		})
	}
}

// TestCustomEvents: a type polyfn does not model reaches the handler as
// received, with its native type recorded.
func TestCustomEvents(t *testing.T) {
	const bucketCreated = "google.cloud.audit.log.v1.written"
	ce := testEvent(t, bucketCreated, bucketSource, "objects/a", "application/json", []byte(`{"name":"a"}`))
	e, err := toNeutral(ce, core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"}, "on-upload")
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind() != core.KindCustom || e.Type() != bucketCreated || e.NativeType() != bucketCreated || string(e.Data()) != `{"name":"a"}` {
		t.Errorf("kind %q type %q native %q data %s; want a custom event as received", e.Kind(), e.Type(), e.NativeType(), e.Data())
	}
}

func TestExtensionsKept(t *testing.T) {
	ce := testEvent(t, typeDocumentCreated, "//firestore.googleapis.com/projects/my-project/databases/(default)",
		"documents/users/u1", "application/protobuf", firestoreTestdata["created.pb"])
	ce.SetExtension("database", "(default)")
	ce.SetExtension("document", "users/u1")
	e, err := toNeutral(ce, core.ChangeTrigger{Source: "USERS_COLLECTION"}, "on-user")
	if err != nil {
		t.Fatal(err)
	}
	if ext := e.Extensions(); ext["database"] != "(default)" || ext["document"] != "users/u1" {
		t.Errorf("extensions = %v, want database and document kept", ext)
	}
}

func TestObjectTriggerFilter(t *testing.T) {
	trigger := core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/", Suffix: ".png"}
	tests := []struct {
		typ, key string
		want     bool
	}{
		{typeObjectFinalized, "uploads/cat.png", false},
		{typeObjectFinalized, "thumbnails/cat.png", true},
		{typeObjectFinalized, "uploads/cat.jpg", true},
		{typeObjectDeleted, "uploads/cat.png", true}, // the trigger takes created objects only
		{typeObjectArchived, "uploads/cat.png", true},
		{typeObjectMetadataUpdated, "uploads/cat.png", true},
	}
	for _, tt := range tests {
		ce := testEvent(t, tt.typ, bucketSource, "", "application/json", []byte(`{"bucket":"b","name":"`+tt.key+`"}`))
		e, err := toNeutral(ce, trigger, "on-upload")
		if err != nil {
			t.Fatal(err)
		}
		if got := filtered(trigger, e); got != tt.want {
			t.Errorf("filtered(%s %s) = %v, want %v", tt.typ, tt.key, got, tt.want)
		}
	}
}

// FuzzToNeutral feeds arbitrary data to every decoder: it may fail, only
// with InvalidArgument, and never panic.
func FuzzToNeutral(f *testing.F) {
	types := []string{typeObjectFinalized, typeObjectDeleted, typeMessagePublished, typeDocumentCreated,
		typeDocumentUpdated, typeDocumentDeleted, typeDocumentWritten, typeObjectArchived, typeObjectMetadataUpdated}
	for _, file := range []string{"finalized.json", "complex-numbers.json", "deleted.json", "archived.json", "metadata-updated.json"} {
		f.Add(uint8(0), false, "application/json", readTestdata(f, "storage", file))
	}
	for _, file := range []string{"full.json", "duplicated-fields.json", "attributes-only.json", "snake-case.json"} {
		f.Add(uint8(2), false, "application/json", readTestdata(f, "pubsub", file))
		f.Add(uint8(2), true, "application/json", readTestdata(f, "pubsub", file))
	}
	for _, b := range firestoreTestdata {
		f.Add(uint8(6), false, "application/protobuf", b)
	}
	f.Add(uint8(4), false, "application/json", readTestdata(f, "firestore", "updated.json"))
	f.Fuzz(func(t *testing.T, typ uint8, timer bool, contentType string, data []byte) {
		var trigger core.Trigger = core.ChangeTrigger{Source: "S"}
		if timer {
			trigger = core.TimerTrigger{Schedule: "@hourly"}
		}
		ce := testEvent(t, types[int(typ)%len(types)], bucketSource, "", "", nil)
		ce.DataEncoded = data
		ce.SetDataContentType(contentType)
		e, err := toNeutral(ce, trigger, "fn")
		if err != nil {
			if core.CodeOf(err) != core.InvalidArgument {
				t.Fatalf("error %v has code %v, want InvalidArgument", err, core.CodeOf(err))
			}
			return
		}
		if _, err := e.MarshalJSON(); err != nil {
			t.Fatalf("the neutral event does not encode: %v", err)
		}
	})
}

package awslambda

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

// lifecycleEnv names the resources of lifecycleApp's triggers.
var lifecycleEnv = map[string]string{
	"ARCHIVE_BUCKET_URL": "s3://archive?region=us-west-2",
	"CLICKS_STREAM_URL":  "kinesis://clicks",
	"LEDGER_TOPIC_URL":   "kafka://b-1.ledger.a1b2c3.c2.kafka.us-east-1.amazonaws.com:9098,b-2.ledger.a1b2c3.c2.kafka.us-east-1.amazonaws.com:9098/ledger?msk=arn:aws:kafka:us-east-1:123456789012:cluster/ledger/a1b2c3d4",
}

// lifecycleApp has an object trigger of every object kind, a Kinesis and a
// Kafka stream trigger; its functions fail the records whose data is
// "fail" (or whose JSON page is "fail").
func lifecycleHandler(t *testing.T, kinds ...core.Kind) (*Handler, *recorder) {
	t.Helper()
	rec := &recorder{events: map[string][]core.Event{}}
	rec.fail = func(fn string, e core.Event) error {
		if e.Record != nil && (string(e.Record.Data) == "fail" || strings.Contains(string(e.Record.Data), `"fail"`)) {
			return core.Errorf(core.Unavailable, "record %s fails", e.ID())
		}
		return nil
	}
	if kinds == nil {
		kinds = core.ObjectKinds
	}
	app := core.NewApp("lifecycle")
	app.On("archive", core.ObjectTrigger{Bucket: "ARCHIVE_BUCKET_URL", Events: kinds}, rec.handler("archive"))
	app.On("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL"}, rec.handler("clicks"))
	app.On("ledger", core.StreamTrigger{Stream: "LEDGER_TOPIC_URL"}, rec.handler("ledger"))
	h, err := New([]*core.App{app}, &Options{Env: func(k string) string { return lifecycleEnv[k] }, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	return h, rec
}

// TestS3EventNames: every S3 event name past creation and removal, in the
// documentation's message structure, becomes its neutral kind with its
// fields.
func TestS3EventNames(t *testing.T) {
	expires := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	base := func() core.Object {
		return core.Object{Bucket: "archive", Key: "reports/2025.csv", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e",
			Version: "096fKKXTRTtl3on89fVO.nfljtsv6qko"}
	}
	with := func(name string, f func(o *core.Object)) core.Object {
		o := base()
		o.EventName = name
		if f != nil {
			f(&o)
		}
		return o
	}
	tests := []struct {
		file string
		kind core.Kind
		want core.Object
	}{
		{"restore-post.json", core.KindObjectRestored, with("ObjectRestore:Post", func(o *core.Object) { o.Restore = &core.Restore{Phase: core.RestoreStarted} })},
		{"restore-completed.json", core.KindObjectRestored, with("ObjectRestore:Completed", func(o *core.Object) {
			o.Restore = &core.Restore{Phase: core.RestoreCompleted, ExpiresAt: expires, StorageClass: "GLACIER"}
		})},
		{"restore-delete.json", core.KindObjectRestored, with("ObjectRestore:Delete", func(o *core.Object) { o.Restore = &core.Restore{Phase: core.RestoreExpired} })},
		{"lifecycle-transition.json", core.KindObjectTiered, with("LifecycleTransition", func(o *core.Object) { o.StorageClass = "GLACIER" })},
		{"intelligent-tiering.json", core.KindObjectTiered, with("IntelligentTiering", func(o *core.Object) { o.StorageClass = "DEEP_ARCHIVE_ACCESS" })},
		{"lifecycle-expiration-delete.json", core.KindObjectDeleted, with("LifecycleExpiration:Delete", func(o *core.Object) { o.Key, o.Expired = "tmp/old.csv", true })},
		{"lifecycle-expiration-marker.json", core.KindObjectDeleted, with("LifecycleExpiration:DeleteMarkerCreated", func(o *core.Object) { o.Key, o.Expired = "tmp/old.csv", true })},
		{"tagging-put.json", core.KindObjectUpdated, with("ObjectTagging:Put", nil)},
		{"tagging-delete.json", core.KindObjectUpdated, with("ObjectTagging:Delete", nil)},
		{"acl-put.json", core.KindObjectUpdated, with("ObjectAcl:Put", nil)},
		{"replication-OperationFailedReplication.json", core.KindObjectReplication, with("Replication:OperationFailedReplication", func(o *core.Object) {
			o.Replication = &core.Replication{Status: "OperationFailedReplication", Rule: "to-replica", Destination: "arn:aws:s3:::archive-replica", FailureReason: "AssumeRoleNotPermitted"}
		})},
		{"replication-OperationMissedThreshold.json", core.KindObjectReplication, with("Replication:OperationMissedThreshold", func(o *core.Object) {
			o.Replication = &core.Replication{Status: "OperationMissedThreshold", Rule: "to-replica", Destination: "arn:aws:s3:::archive-replica"}
		})},
		{"replication-OperationReplicatedAfterThreshold.json", core.KindObjectReplication, with("Replication:OperationReplicatedAfterThreshold", func(o *core.Object) {
			o.Replication = &core.Replication{Status: "OperationReplicatedAfterThreshold", Rule: "to-replica", Destination: "arn:aws:s3:::archive-replica"}
		})},
		{"replication-OperationNotTracked.json", core.KindObjectReplication, with("Replication:OperationNotTracked", func(o *core.Object) {
			o.Replication = &core.Replication{Status: "OperationNotTracked", Rule: "to-replica", Destination: "arn:aws:s3:::archive-replica"}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h, rec := lifecycleHandler(t)
			if out := invokeEvents(t, h, readTestdata(t, filepath.Join("s3", tt.file))); string(out) != "null" {
				t.Errorf("reply %s, want null", out)
			}
			got := rec.got("archive")
			if len(got) != 1 {
				t.Fatalf("%d events, want 1", len(got))
			}
			e := got[0]
			if e.Kind() != tt.kind || e.NativeType() != tt.want.EventName || e.Source() != "arn:aws:s3:::archive" || e.Subject() != tt.want.Key {
				t.Errorf("kind %s, native type %q, source %q, subject %q", e.Kind(), e.NativeType(), e.Source(), e.Subject())
			}
			if d := cmp.Diff(tt.want, *e.Object); d != "" {
				t.Errorf("object (-want +got):\n%s", d)
			}
		})
	}
}

// TestS3KindNotListed: a record of a kind the trigger does not list is not
// delivered, by Invoke or Decode; the others of the payload are.
func TestS3KindNotListed(t *testing.T) {
	h, rec := lifecycleHandler(t, core.KindObjectCreated)
	payload := readTestdata(t, filepath.Join("s3", "restore-completed.json"))
	if out := invokeEvents(t, h, payload); string(out) != "null" {
		t.Errorf("reply %s, want null", out)
	}
	if got := rec.got("archive"); len(got) != 0 {
		t.Errorf("%d events delivered, want none", len(got))
	}
	d, err := h.Decode(t.Context(), payload)
	if err != nil || len(d.Events) != 0 {
		t.Errorf("Decode: %v, %d events; want none", err, len(d.Events))
	}
}

// TestS3UnknownEventDropped: an event name polyfn does not know is dropped
// with a warning, not failed (Lambda would retry it for nothing); the
// payload's other records are delivered.
func TestS3UnknownEventDropped(t *testing.T) {
	h, rec := lifecycleHandler(t)
	var logged strings.Builder
	h.log = slog.New(slog.NewTextHandler(&logged, nil))
	if out := invokeEvents(t, h, readTestdata(t, filepath.Join("s3", "unknown.json"))); string(out) != "null" {
		t.Errorf("reply %s, want null", out)
	}
	if got := rec.got("archive"); len(got) != 1 || got[0].NativeType() != "ObjectTagging:Put" {
		t.Errorf("delivered %v, want the tagging event alone", got)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "ObjectAnnotation:Put") {
		t.Errorf("log %q: want a warning naming the event", logged.String())
	}
}

// TestKinesis: the records of a shard arrive in order with their fields;
// the shard stops at its first failure, whose sequence number is the
// reply's one item identifier (Lambda resumes the shard there), and the
// record after it is not handed to the function.
func TestKinesis(t *testing.T) {
	h, rec := lifecycleHandler(t)
	out := invokeEvents(t, h, readTestdata(t, filepath.Join("streams", "kinesis.json")))
	if ids := batchFailures(t, out); !slices.Equal(ids, []string{"49590338271490256608559692540925702759324208523137515618"}) {
		t.Errorf("batchItemFailures %q, want the second record's sequence number alone", ids)
	}
	got := rec.got("clicks")
	if len(got) != 2 {
		t.Fatalf("%d records handed to the function, want 2 (the third follows the failure)", len(got))
	}
	want := core.Record{
		Stream: "arn:aws:kinesis:us-east-1:123456789012:stream/clicks", Partition: "shardId-000000000000", Key: "user-1",
		Sequence: "49590338271490256608559692538361571095921575989136588898", Data: []byte(`{"page":"/a"}`),
		ArrivalTime: time.Date(2025, 12, 3, 10, 30, 0, 123e6, time.UTC),
	}
	if d := cmp.Diff(want, *got[0].Record); d != "" {
		t.Errorf("record (-want +got):\n%s", d)
	}
	e := got[0]
	if e.ID() != "shardId-000000000000:"+want.Sequence || e.Source() != want.Stream || e.NativeType() != "aws:kinesis:record" || !e.Time().Equal(want.ArrivalTime) {
		t.Errorf("id %q, source %q, native type %q, time %v", e.ID(), e.Source(), e.NativeType(), e.Time())
	}
}

// TestKafka: an MSK batch arrives partition by partition (topic, then
// partition number: 0, 1, 10), each in offset order; the failed partition
// stops at its first failure, reported as the partition's key and that
// offset; the others go on.
func TestKafka(t *testing.T) {
	h, rec := lifecycleHandler(t)
	out := invokeEvents(t, h, readTestdata(t, filepath.Join("streams", "msk.json")))
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier kafkaItemIdentifier `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("reply %s: %v", out, err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != (kafkaItemIdentifier{"ledger-1", 7}) {
		t.Errorf("reply %s, want ledger-1 at offset 7 alone", out)
	}
	var order []string
	for _, e := range rec.got("ledger") {
		order = append(order, e.ID())
	}
	if want := []string{"ledger-0:41", "ledger-0:42", "ledger-1:7", "ledger-10:3"}; !slices.Equal(order, want) {
		t.Errorf("handed %q, want %q (not ledger-1:8, after the failure)", order, want)
	}
	first := rec.got("ledger")[0]
	want := core.Record{Stream: "ledger", Partition: "0", Key: "acct-1", Sequence: "41", Data: []byte("ok"),
		ArrivalTime: time.UnixMilli(1764757800100).UTC(), Headers: map[string]string{"kind": "debit"}}
	if d := cmp.Diff(want, *first.Record); d != "" {
		t.Errorf("record (-want +got):\n%s", d)
	}
	if first.Source() != "arn:aws:kafka:us-east-1:123456789012:cluster/ledger/a1b2c3d4-5678-90ab-cdef-11111EXAMPLE-1" || first.NativeType() != "aws:kafka" {
		t.Errorf("source %q, native type %q", first.Source(), first.NativeType())
	}
}

// TestSelfManagedKafka: a self-managed cluster's records name it by its
// bootstrap servers and topic.
func TestSelfManagedKafka(t *testing.T) {
	h, rec := lifecycleHandler(t)
	out := invokeEvents(t, h, readTestdata(t, filepath.Join("streams", "self-managed-kafka.json")))
	if string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("reply %s, want no failures", out)
	}
	got := rec.got("ledger")
	if len(got) != 1 {
		t.Fatalf("%d records, want 1", len(got))
	}
	e := got[0]
	if e.Source() != "kafka://kafka-1.example.com:9092,kafka-2.example.com:9092/ledger" || e.NativeType() != "SelfManagedKafka" ||
		string(e.Record.Data) != "Hello, this is a test." || e.Record.Headers["headerKey"] != "headerValue" || e.Record.Sequence != "15" {
		t.Errorf("source %q, native type %q, record %+v", e.Source(), e.NativeType(), *e.Record)
	}
}

// TestMalformedStreams: stream payloads Lambda would not send fail as
// malformed, naming what is wrong.
func TestMalformedStreams(t *testing.T) {
	h, _ := lifecycleHandler(t)
	for _, tt := range []struct{ name, payload, want string }{
		{"Kinesis without eventID", `{"Records":[{"eventSource":"aws:kinesis","eventSourceARN":"arn:aws:kinesis:us-east-1:1:stream/s","kinesis":{"sequenceNumber":"1","data":""}}]}`, "shardId"},
		{"Kinesis bad data", `{"Records":[{"eventSource":"aws:kinesis","eventID":"shardId-0:1","eventSourceARN":"arn:aws:kinesis:us-east-1:1:stream/s","kinesis":{"sequenceNumber":"1","data":"%%"}}]}`, "Kinesis Data Streams record 0"},
		{"Kafka records not partitions", `{"eventSource":"aws:kafka","records":[1]}`, "Kafka records"},
		{"Kafka bad key", `{"eventSource":"SelfManagedKafka","records":{"t-0":[{"topic":"t","partition":0,"offset":1,"key":"%%"}]}}`, "key"},
		{"Kafka no topic", `{"eventSource":"aws:kafka","records":{"t-0":[{"partition":0,"offset":1}]}}`, "no topic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Invoke(t.Context(), []byte(tt.payload))
			fe := functionErr(t, err)
			if fe.Type != "Polyfn.InvalidArgument" || !strings.Contains(fe.Message, tt.want) {
				t.Errorf("got %+v, want InvalidArgument naming %q", fe, tt.want)
			}
		})
	}
}

// sdkSamples are the samples of aws-lambda-go's events/testdata of the
// event kinds polyfn claims: each decodes without error through Decode.
var sdkSamples = []string{
	"alb-lambda-target-request-headers-only.json", "alb-lambda-target-request-multivalue-headers.json",
	"apigw-request.json", "apigw-v2-request-iam.json", "apigw-v2-request-jwt-authorizer.json",
	"apigw-v2-request-lambda-authorizer.json", "apigw-v2-request-no-authorizer.json", "lambda-urls-request.json",
	"s3-event.json", "s3-event-with-decoded.json", "s3-glacier-event.json", "s3-intelligenttier-event.json",
	"s3-lifecycle-event.json", "s3-replication-event.json", "s3-restore-event.json",
	"sqs-event.json", "sns-event.json", "dynamodb-event.json",
	"kinesis-event.json", "kinesis-time-window-event.json", "kafka-event.json",
}

// TestSDKSamples decodes aws-lambda-go's own samples (the module's
// events/testdata, v1.55.1 in the module cache).
func TestSDKSamples(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
	app := core.NewApp("samples")
	h, err := New([]*core.App{app}, &Options{Env: func(string) string { return "" }, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sdkSamples {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			d, err := h.Decode(context.Background(), b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d.Request == nil && len(d.Events) == 0 {
				t.Error("neither a request nor an event")
			}
			for _, e := range d.Events {
				if err := e.Validate(); err != nil || e.Kind() == core.KindCustom {
					t.Errorf("event %s: kind %s, %v", e.ID(), e.Kind(), err)
				}
			}
		})
	}
}

// BenchmarkKafkaBatch measures a Kafka batch of 100 records in 4
// partitions through Invoke, handled by a function that does nothing: the
// adapter's cost per batch (decoding, ordering, the reply), which decides
// whether handing partitions over concurrently would be worth it.
func BenchmarkKafkaBatch(b *testing.B) {
	parts := map[string][]map[string]any{}
	for i := range 100 {
		p := i % 4
		key := "ledger-" + string(rune('0'+p))
		parts[key] = append(parts[key], map[string]any{"topic": "ledger", "partition": p, "offset": i, "timestamp": 1764757800000 + i,
			"timestampType": "CREATE_TIME", "key": "YWNjdA==", "value": "eyJhbW91bnQiOjF9", "headers": []any{}})
	}
	payload, err := json.Marshal(map[string]any{"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/ledger/a",
		"bootstrapServers": "b-1:9098", "records": parts})
	if err != nil {
		b.Fatal(err)
	}
	app := core.NewApp("bench")
	app.On("ledger", core.StreamTrigger{Stream: "LEDGER_TOPIC_URL"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	h, err := New([]*core.App{app}, &Options{Env: func(string) string { return "" }, Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	ctx := lambdaContext(b, time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

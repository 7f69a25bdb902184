package awslambda_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"gocloud.dev/blob"

	"github.com/polyfn/polyfn/internal/emulators"
)

// TestTracesEndToEnd runs the thumbnails bootstrap with an OTLP collector
// configured and invokes it as Lambda does with active tracing: the spans of
// the invocation reach the collector before its reply does (the process may
// be frozen after it), continuing the X-Ray trace of Lambda-Runtime-Trace-Id,
// with gocloud.dev's bucket calls as children.
func TestTracesEndToEnd(t *testing.T) {
	collector := emulators.StartOTLPReceiver(t)
	dir := t.TempDir()
	s := serve(t, "thumbnails", "MEDIA_BUCKET_URL="+fileURL(dir), "THUMBNAILS_TOPIC_URL=mem://thumbnails",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL, "AWS_REGION=eu-west-1")

	bucket, err := blob.OpenBucket(t.Context(), fileURL(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 300, 200))); err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(t.Context(), "uploads/a.png", img.Bytes(), nil); err != nil {
		t.Fatal(err)
	}
	event := events.S3Event{Records: []events.S3EventRecord{{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "eu-west-1", EventTime: time.Now().UTC(),
		EventName: "ObjectCreated:Put",
		S3: events.S3Entity{
			Bucket: events.S3Bucket{Name: "media", Arn: "arn:aws:s3:::media"},
			Object: events.S3Object{Key: "uploads/a.png", Size: int64(img.Len()), Sequencer: "0A1B2C3D4E5F678901"},
		},
	}}}
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	const (
		xray   = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		trace  = "5759e988bd862e3fe1be46a994272793"
		parent = "53995c3f42cd8ad8"
	)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.InvokeURL(), bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amzn-Trace-Id", xray)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(reply) != "null" {
		t.Fatalf("invoke: %d %s", resp.StatusCode, reply)
	}

	// No waiting: the spans were flushed before the reply.
	spans := collector.Spans()
	byID := map[string]emulators.ReceivedSpan{}
	var invocation, object emulators.ReceivedSpan
	for _, sp := range spans {
		byID[sp.SpanID()] = sp
		switch {
		case sp.Name == "thumbnails":
			invocation = sp
		case sp.Attr("faas.trigger") == "datasource" && sp.Name != "thumbnails":
			object = sp
		}
	}
	if invocation.Span == nil || object.Span == nil {
		t.Fatalf("the invocation's and the object event's spans did not arrive with the reply; got %d spans", len(spans))
	}
	if invocation.TraceID() != trace || invocation.ParentSpanID() != parent {
		t.Errorf("the invocation's span is in trace %s under %s, want X-Ray's %s under %s", invocation.TraceID(), invocation.ParentSpanID(), trace, parent)
	}
	for key, want := range map[string]string{"faas.coldstart": "true", "cloud.provider": "aws", "faas.trigger": "datasource"} {
		if got := invocation.Attr(key); got != want {
			t.Errorf("invocation span %s = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]string{"cloud.platform": "aws_lambda", "cloud.region": "eu-west-1", "faas.name": "thumbnails", "service.name": "thumbnails"} {
		if got := emulators.AttrText(invocation.Resource, key); got != want {
			t.Errorf("resource %s = %q, want %q", key, got, want)
		}
	}
	if object.ParentSpanID() != invocation.SpanID() || object.Attr("cloudevents.event_subject") != "uploads/a.png" {
		t.Errorf("the object event's span has parent %s and subject %q, want the invocation's span and the key",
			object.ParentSpanID(), object.Attr("cloudevents.event_subject"))
	}
	// gocloud.dev's own spans (the bucket read and write, the topic send)
	// belong to the event's span, in the same trace; but for its topics'
	// driver.Topic.SendBatch, which its batcher starts on a goroutine of
	// its own, outside the caller's trace.
	var gocloud int
	for _, sp := range spans {
		if sp.TraceID() != trace && !strings.HasPrefix(sp.Name, "gocloud.dev/pubsub.driver.") {
			t.Errorf("span %q is in trace %s", sp.Name, sp.TraceID())
		}
		for p := byID[sp.ParentSpanID()]; p.Span != nil; p = byID[p.ParentSpanID()] {
			if p.SpanID() == object.SpanID() {
				gocloud++
				break
			}
		}
	}
	if gocloud == 0 {
		t.Errorf("no gocloud.dev span under the event's span among %d spans", len(spans))
	}
}

package gcpfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// The traces of the trace tests: the request's, as Cloud Run sends it in
// both headers (X-Cloud-Trace-Context's span id in decimal), and the
// producer's, which Eventarc puts in the CloudEvent's traceparent.
const (
	requestTraceID = "105445aa7843bc8bf206b12000100000"
	requestCloud   = requestTraceID + "/17;o=1"
	requestW3C     = "00-" + requestTraceID + "-0000000000000011-01"
	producerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	producerW3C    = "00-" + producerTrace + "-00f067aa0ba902b7-01"
	otherCloud     = "0af7651916cd43dd8448eb211c80319c/99;o=0"
)

// recorded is what an event function saw of one delivery.
type recorded struct {
	inv   core.Invocation
	event core.Event
}

// recordingApp has an event function "record" that keeps what it saw and
// fails with the code of the message's "fail" attribute, when set.
func recordingApp(got *recorded) *core.App {
	app := core.NewApp("traces")
	app.On("record", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		inv, _ := core.InvocationFrom(ctx)
		got.inv, got.event = *inv, e
		if c := e.Message.Attributes["fail"]; c != "" {
			for _, code := range core.Codes() {
				if code.String() == c {
					return core.Errorf(code, "asked to fail")
				}
			}
			return errors.New("no such code: " + c)
		}
		return nil
	}))
	return app
}

// TestEventTraceFromRequest: an event function's invocation continues the
// trace of the request that delivered the event, W3C first, then
// X-Cloud-Trace-Context; the event keeps the producer's trace (its
// traceparent extension), which the invocation takes only when the request
// has none.
func TestEventTraceFromRequest(t *testing.T) {
	var got recorded
	h := serveCloudEvent(t, testRegistration(t, recordingApp(&got)).entry(t, "record").http)
	tests := []struct {
		name    string
		headers []string
		want    core.Trace
	}{
		{"X-Cloud-Trace-Context only", []string{"X-Cloud-Trace-Context", requestCloud},
			core.Trace{Format: core.TraceGCP, TraceID: requestTraceID, SpanID: "17", Sampled: true, Raw: requestCloud}},
		{"both headers: traceparent first", []string{"Traceparent", requestW3C, "X-Cloud-Trace-Context", otherCloud},
			core.Trace{Format: core.TraceW3C, TraceID: requestTraceID, SpanID: "0000000000000011", Sampled: true, Raw: requestW3C}},
		{"an invalid traceparent: X-Cloud-Trace-Context", []string{"Traceparent", "00-zz", "X-Cloud-Trace-Context", requestCloud},
			core.Trace{Format: core.TraceGCP, TraceID: requestTraceID, SpanID: "17", Sampled: true, Raw: requestCloud}},
		{"neither: the producer's", nil,
			core.Trace{Format: core.TraceW3C, TraceID: producerTrace, SpanID: "00f067aa0ba902b7", Sampled: true, Raw: producerW3C}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = recorded{}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, pubsubRequest("m-trace", "eA==", append([]string{"Ce-Traceparent", producerW3C}, tt.headers...)...))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if diff := cmp.Diff(tt.want, got.inv.Trace); diff != "" {
				t.Errorf("the invocation's trace (-want +got):\n%s", diff)
			}
			if tr, ok := got.event.Trace(); !ok || tr.TraceID != producerTrace {
				t.Errorf("the event's trace is %+v (%v), want the producer's %s", tr, ok, producerTrace)
			}
		})
	}
	t.Run("no trace at all", func(t *testing.T) {
		got = recorded{}
		h.ServeHTTP(httptest.NewRecorder(), pubsubRequest("m-none", "eA=="))
		if !got.inv.Trace.IsZero() {
			t.Errorf("the invocation's trace is %+v, want none", got.inv.Trace)
		}
		if _, ok := got.event.Trace(); ok {
			t.Error("the event has a trace, though none was sent")
		}
	})
}

// TestEventFailureLoggedUnderRequestTrace: the line logging a failed
// event carries the request's trace, qualified with the project, and its
// span in hex, so that Cloud Logging files it under the request.
func TestEventFailureLoggedUnderRequestTrace(t *testing.T) {
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	var got recorded
	h := serveCloudEvent(t, testRegistration(t, recordingApp(&got)).entry(t, "record").http)
	for _, headers := range [][]string{{"X-Cloud-Trace-Context", requestCloud}, {"Traceparent", requestW3C}} {
		var buf emulators.SyncBuffer
		slog.SetDefault(slog.New(newLogHandler(&buf, slog.LevelInfo, "p")))
		w := httptest.NewRecorder()
		data := `{"message":{"data":"eA==","attributes":{"fail":"invalid-argument"},"messageId":"poison"},"subscription":"projects/p/subscriptions/s"}`
		h.ServeHTTP(w, binaryRequest(typeMessagePublished, topicSource, "poison", "application/json", []byte(data),
			append([]string{"Ce-Traceparent", producerW3C}, headers...)...))
		if w.Code != http.StatusAccepted {
			t.Fatalf("%s: status %d, want 202", headers[0], w.Code)
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &line); err != nil {
			t.Fatalf("%s: %s: %v", headers[0], buf.String(), err)
		}
		if line["severity"] != "ERROR" || line[traceField] != "projects/p/traces/"+requestTraceID ||
			line[spanField] != "0000000000000011" || line[sampledField] != true {
			t.Errorf("%s: line %v; want an ERROR under the request's trace %s, span 0000000000000011", headers[0], line, requestTraceID)
		}
	}
}

// TestEventSpanContinuesRequestTrace: with tracing on, the invocation's
// span is a child of the request's span, and the event's span continues
// the producer's trace, linked to the invocation's.
func TestEventSpanContinuesRequestTrace(t *testing.T) {
	spans := telemetrytest.RecordSpans(t, nil)
	var got recorded
	h := serveCloudEvent(t, testRegistration(t, recordingApp(&got)).entry(t, "record").http)
	h.ServeHTTP(httptest.NewRecorder(), pubsubRequest("m-span", "eA==", "Ce-Traceparent", producerW3C, "X-Cloud-Trace-Context", requestCloud))
	var invocation, event trace.SpanContext
	for _, s := range spans.GetSpans() {
		switch s.Name {
		case "record":
			invocation = s.SpanContext
			if s.Parent.TraceID().String() != requestTraceID || s.Parent.SpanID().String() != "0000000000000011" {
				t.Errorf("the invocation's span has the parent %v, want the request's span 17 of %s", s.Parent, requestTraceID)
			}
		case "process " + topicSource:
			event = s.SpanContext
			if len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != requestTraceID {
				t.Errorf("the event's span links %v, want the invocation's span", s.Links)
			}
		}
	}
	if invocation.TraceID().String() != requestTraceID {
		t.Errorf("the invocation's span is in trace %s, want the request's %s", invocation.TraceID(), requestTraceID)
	}
	if event.TraceID().String() != producerTrace {
		t.Errorf("the event's span is in trace %s, want the producer's %s", event.TraceID(), producerTrace)
	}
}

// TestPushRequest: a Pub/Sub push request without Eventarc keeps its
// subscription and, with a dead-letter policy, its delivery attempt; the
// source names the topic when the endpoint's path does, else the
// subscription.
func TestPushRequest(t *testing.T) {
	var got recorded
	h := serveCloudEvent(t, testRegistration(t, recordingApp(&got)).entry(t, "record").http)
	body := `{"message":{"attributes":{"origin":"push"},"data":"eyJpZCI6IkEtMTAwMSJ9","messageId":"2070443601311540",` +
		`"message_id":"2070443601311540","publishTime":"2026-11-21T10:30:00.123Z","publish_time":"2026-11-21T10:30:00.123Z",` +
		`"orderingKey":"customer-7"},"subscription":"projects/my-project/subscriptions/orders-push","deliveryAttempt":4}`
	for _, tt := range []struct{ path, source string }{
		{"/", "//pubsub.googleapis.com/projects/my-project/subscriptions/orders-push"},
		{"/projects/my-project/topics/orders", topicSource},
	} {
		got = recorded{}
		r := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Cloud-Trace-Context", requestCloud)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tt.path, w.Code, w.Body)
		}
		want := &core.Message{ID: "2070443601311540", Body: []byte(`{"id":"A-1001"}`), Attributes: map[string]string{"origin": "push"},
			DeliveryCount: 4, PublishTime: time.Date(2026, 11, 21, 10, 30, 0, 123000000, time.UTC), OrderingKey: "customer-7",
			Subscription: "projects/my-project/subscriptions/orders-push"}
		if diff := cmp.Diff(want, got.event.Message); diff != "" {
			t.Errorf("%s: message (-want +got):\n%s", tt.path, diff)
		}
		e := got.event
		if e.ID() != "2070443601311540" || e.Source() != tt.source || e.NativeType() != typeMessagePublished ||
			!e.Time().Equal(want.PublishTime) || got.inv.ID != e.ID() || got.inv.Trace.TraceID != requestTraceID {
			t.Errorf("%s: event id %q source %q native %q time %v, invocation %+v", tt.path, e.ID(), e.Source(), e.NativeType(), e.Time(), got.inv)
		}
	}
}

// TestLegacyEvents: legacy background events, in both forms, become the
// CloudEvents Eventarc sends for them.
func TestLegacyEvents(t *testing.T) {
	tests := []struct {
		name, body string
		source     string
		subject    string
		typ        string
		data       string
	}{
		{"storage, context and data", string(readTestdata(t, "legacy", "storage-finalize.json")), bucketSource, "objects/uploads/cat.png",
			typeObjectFinalized, `"name": "uploads/cat.png"`},
		{"storage metadata update, metadata at the top level, resource a string",
			`{"eventId":"e-2","timestamp":"2026-11-21T10:30:00Z","eventType":"google.storage.object.metadataUpdate",` +
				`"resource":"projects/_/buckets/media-bucket/objects/a b.txt","data":{"bucket":"media-bucket","name":"a b.txt"}}`,
			bucketSource, "objects/a b.txt", typeObjectMetadataUpdated, `"name":"a b.txt"`},
		{"pub/sub: the message wrapped, with the event's id and time", string(readTestdata(t, "legacy", "pubsub-publish.json")),
			topicSource, "", typeMessagePublished, `"messageId":"1144231683168617","publishTime":"2026-11-21T10:30:00.123Z"`},
		{"firestore", `{"context":{"eventId":"e-3","timestamp":"2026-11-21T10:30:00Z","eventType":"providers/cloud.firestore/eventTypes/document.write",` +
			`"resource":"projects/my-project/databases/(default)/documents/users/u1"},"data":{"value":{"name":"x"}}}`,
			"//firestore.googleapis.com/projects/my-project/databases/(default)", "documents/users/u1", typeDocumentWritten, `"value"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce, err := fromJSON([]byte(tt.body), "/")
			if err != nil {
				t.Fatal(err)
			}
			if ce.Type() != tt.typ || ce.Source() != tt.source || ce.Subject() != tt.subject || ce.Time().IsZero() ||
				!strings.Contains(string(ce.Data()), tt.data) || ce.DataContentType() != "application/json" {
				t.Errorf("CloudEvent %s, want type %s source %s subject %q and data with %s", ce, tt.typ, tt.source, tt.subject, tt.data)
			}
			if err := ce.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNotAnEvent: a request that is no event at all is refused with 400
// and a reason, without calling the handler; only POST is served.
func TestNotAnEvent(t *testing.T) {
	var got recorded
	h := serveCloudEvent(t, testRegistration(t, recordingApp(&got)).entry(t, "record").http)
	tests := []struct {
		name, method, contentType, body string
		want                            int
		reason                          string
	}{
		{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed, "POST"},
		{"a structured CloudEvent cut short", http.MethodPost, "application/cloudevents+json", `{"specversion":`, http.StatusBadRequest, "CloudEvent"},
		{"a structured CloudEvent without an id", http.MethodPost, "application/cloudevents+json",
			`{"specversion":"1.0","type":"t","source":"s"}`, http.StatusBadRequest, "not valid"},
		{"other JSON", http.MethodPost, "application/json", `{"hello":"world"}`, http.StatusBadRequest, "not a CloudEvent"},
		{"not JSON", http.MethodPost, "text/plain", `hello`, http.StatusBadRequest, "not a CloudEvent"},
		{"a push request without a message id", http.MethodPost, "application/json",
			`{"message":{"data":"eA=="},"subscription":"projects/p/subscriptions/s"}`, http.StatusBadRequest, "messageId"},
		{"a legacy event of a type polyfn does not map", http.MethodPost, "application/json",
			`{"context":{"eventId":"1","eventType":"providers/firebase.auth/eventTypes/user.create","resource":"projects/p"},"data":{}}`,
			http.StatusBadRequest, "user.create"},
		{"a legacy storage event of another resource", http.MethodPost, "application/json",
			`{"context":{"eventId":"1","eventType":"google.storage.object.finalize","resource":"projects/p/topics/t"},"data":{}}`,
			http.StatusBadRequest, "not a storage.googleapis.com resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = recorded{}
			r := httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.reason) {
				t.Errorf("status %d: %s; want %d with %q", w.Code, w.Body, tt.want, tt.reason)
			}
			if got.event.Event.ID() != "" {
				t.Errorf("the handler received %v", got.event)
			}
		})
	}
}

// repeated is an endless stream of one byte.
type repeated byte

func (b repeated) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestEventTooLarge: a body over Cloud Run's 32 MiB is answered 413, in
// either form, without calling the handler.
func TestEventTooLarge(t *testing.T) {
	var got recorded
	h := serveCloudEvent(t, testRegistration(t, recordingApp(&got)).entry(t, "record").http)
	for _, binary := range []bool{true, false} {
		body := io.MultiReader(strings.NewReader(`{"message":{"data":"`), io.LimitReader(repeated('A'), maxEventBody))
		r := httptest.NewRequest(http.MethodPost, "/", body)
		r.Header.Set("Content-Type", "application/json")
		if binary {
			r = binaryRequest(typeMessagePublished, topicSource, "big", "application/json", nil)
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"message":{"data":"`), io.LimitReader(repeated('A'), maxEventBody)))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || got.event.Event.ID() != "" {
			t.Errorf("binary %v: status %d: %.200s; want 413 and no delivery", binary, w.Code, w.Body)
		}
	}
}

package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

const (
	w3cParent  = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceHex   = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan = "00f067aa0ba902b7"
)

func TestSpanContext(t *testing.T) {
	tests := []struct {
		name      string
		in        core.Trace
		wantTrace string
		wantSpan  string
		sampled   bool
		ok        bool
	}{
		{"w3c", mustTraceparent(t, w3cParent), traceHex, parentSpan, true, true},
		{"x-ray", mustXRay(t, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
			"5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true, true},
		{"x-ray not sampled", mustXRay(t, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"),
			"5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", false, true},
		// X-Cloud-Trace-Context's span id is decimal: 15750197455454463671 is 0xda93f1233a9fe6b7.
		{"cloud trace context", core.Trace{Format: core.TraceGCP, TraceID: traceHex, SpanID: "15750197455454463671", Sampled: true},
			traceHex, "da93f1233a9fe6b7", true, true},
		{"cloud trace context, small span id", core.Trace{Format: core.TraceGCP, TraceID: traceHex, SpanID: "1"},
			traceHex, "0000000000000001", false, true},
		{"x-ray without a parent", mustXRay(t, "Root=1-5759e988-bd862e3fe1be46a994272793"), "", "", false, false},
		{"x-ray of another version", core.Trace{Format: core.TraceXRay, TraceID: "2-5759e988-bd862e3fe1be46a994272793", SpanID: parentSpan}, "", "", false, false},
		{"not hex", core.Trace{Format: core.TraceW3C, TraceID: "zz" + traceHex[2:], SpanID: parentSpan}, "", "", false, false},
		{"none", core.Trace{}, "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, ok := telemetry.SpanContext(tt.in)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%v)", ok, tt.ok, sc)
			}
			if !ok {
				return
			}
			if sc.TraceID().String() != tt.wantTrace || sc.SpanID().String() != tt.wantSpan || sc.IsSampled() != tt.sampled || !sc.IsRemote() {
				t.Errorf("got trace %s span %s sampled %v remote %v; want %s %s %v true",
					sc.TraceID(), sc.SpanID(), sc.IsSampled(), sc.IsRemote(), tt.wantTrace, tt.wantSpan, tt.sampled)
			}
		})
	}
}

func TestTraceOf(t *testing.T) {
	sc, _ := telemetry.SpanContext(mustTraceparent(t, w3cParent))
	aws := telemetry.TraceOf(sc, core.CloudAWS)
	if aws.Format != core.TraceXRay || aws.TraceID != "1-4bf92f35-77b34da6a3ce929d0e0e4736" ||
		aws.Raw != "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1" {
		t.Errorf("AWS: %+v", aws)
	}
	if back, ok := telemetry.SpanContext(aws); !ok || back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() {
		t.Errorf("the X-Ray form does not convert back: %v", back)
	}
	gcp := telemetry.TraceOf(sc, core.CloudGCP)
	if gcp.Format != core.TraceW3C || gcp.Raw != w3cParent || gcp.TraceID != traceHex {
		t.Errorf("GCP: %+v", gcp)
	}
	if got := telemetry.TraceOf(trace.SpanContext{}, core.CloudAWS); !got.IsZero() {
		t.Errorf("an invalid span context gives %+v", got)
	}
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %d", name, len(spans))
	return tracetest.SpanStub{}
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func message(t *testing.T, id string, attributes map[string]string) core.Event {
	t.Helper()
	e, err := core.NewEvent(core.TypeMessage, id, "orders", &core.Message{ID: id, Body: []byte("{}"), Attributes: attributes})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTracerInvocation continues each platform's trace header, records the
// FaaS attributes, and makes each event of a batch a child span with its
// outcome.
func TestTracerInvocation(t *testing.T) {
	for _, tt := range []struct {
		cloud  core.Cloud
		header core.Trace
	}{
		{core.CloudAWS, mustXRay(t, "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1")},
		{core.CloudGCP, core.Trace{Format: core.TraceGCP, TraceID: traceHex, SpanID: "67667974448284343", Sampled: true}}, // 0x00f067aa0ba902b7
		{core.CloudAzure, mustTraceparent(t, w3cParent)},
	} {
		t.Run(string(tt.cloud), func(t *testing.T) {
			var flushed int
			exp := telemetrytest.RecordSpans(t, &telemetry.TracerOptions{Flush: func(context.Context) { flushed++ }})
			inv := &core.Invocation{ID: "req-1", Cloud: tt.cloud, Function: "orders", Trace: tt.header, ColdStart: true}
			ctx, cancel := core.WithInvocation(t.Context(), inv)
			events := []core.Event{message(t, "m-1", nil), message(t, "m-2", nil)}
			failures := core.ProcessBatch(ctx, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
				if !trace.SpanContextFromContext(ctx).IsValid() {
					t.Error("the handler's context has no span")
				}
				if e.ID() == "m-2" {
					return core.Errorf(core.Unavailable, "try later")
				}
				return nil
			}), events, nil)
			cancel()
			if len(failures) != 1 {
				t.Fatalf("failures %v", failures)
			}
			if flushed != 1 {
				t.Errorf("flushed %d times, want once at the invocation's end", flushed)
			}
			spans := exp.GetSpans()
			if len(spans) != 3 {
				t.Fatalf("%d spans, want the invocation's and two events'", len(spans))
			}
			root := spanNamed(t, spans, "orders")
			if root.SpanKind != trace.SpanKindServer || root.Parent.TraceID().String() != traceHex || root.Parent.SpanID().String() != parentSpan || !root.Parent.IsRemote() {
				t.Errorf("invocation span kind %v parent %v, want a server span continuing %s/%s", root.SpanKind, root.Parent, traceHex, parentSpan)
			}
			a := attrs(root)
			if a["faas.invocation_id"].AsString() != "req-1" || !a["faas.coldstart"].AsBool() || a["faas.trigger"].AsString() != "pubsub" ||
				a["cloud.provider"].AsString() != string(tt.cloud) || a["messaging.batch.message_count"].AsInt64() != 2 || a["polyfn.batch.failed"].AsInt64() != 1 {
				t.Errorf("invocation span attributes %v", root.Attributes)
			}
			if root.Status.Code != codes.Error {
				t.Errorf("a batch with a failure has status %v", root.Status)
			}
			var failed int
			for _, s := range spans {
				if s.Name == "orders" {
					continue
				}
				if s.Name != "process orders" || s.SpanKind != trace.SpanKindConsumer || s.Parent.SpanID() != root.SpanContext.SpanID() {
					t.Errorf("event span %q kind %v parent %v, want a consumer child of the invocation", s.Name, s.SpanKind, s.Parent.SpanID())
				}
				if s.Status.Code == codes.Error {
					failed++
					if attrs(s)["error.type"].AsString() != "unavailable" {
						t.Errorf("failed event span attributes %v", s.Attributes)
					}
				}
			}
			if failed != 1 {
				t.Errorf("%d event spans failed, want 1", failed)
			}
		})
	}
}

// TestTracerHTTP records an HTTP request's status on the invocation's span:
// a 5xx is an error, a 4xx the client's.
func TestTracerHTTP(t *testing.T) {
	exp := telemetrytest.RecordSpans(t, nil)
	app := core.NewApp("users")
	app.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	for _, path := range []string{"/missing", "/fail"} {
		inv := &core.Invocation{ID: path, Cloud: core.CloudGCP, Function: "users"}
		ctx, cancel := core.WithInvocation(t.Context(), inv)
		app.HTTPHandler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", path, nil))
		cancel()
		if inv.Trace.Format != core.TraceW3C || len(inv.Trace.TraceID) != 32 {
			t.Errorf("an invocation without a trace header gets the new trace: %+v", inv.Trace)
		}
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	for i, want := range []struct {
		status int
		code   codes.Code
	}{{404, codes.Unset}, {502, codes.Error}} {
		s := spans[i]
		if s.Parent.IsValid() {
			t.Errorf("span %d has parent %v, want a root", i, s.Parent)
		}
		a := attrs(s)
		if a["http.response.status_code"].AsInt64() != int64(want.status) || a["faas.trigger"].AsString() != "http" || s.Status.Code != want.code {
			t.Errorf("span %d: attributes %v status %v; want %d and %v", i, s.Attributes, s.Status, want.status, want.code)
		}
	}
}

// TestTraceAcrossMessages publishes a message from one function's
// invocation through gocloud.dev's in-memory pub/sub and hands it to
// another's: the second continues the first's trace, with tracing on and
// with it off (the received trace is passed on as it came).
func TestTraceAcrossMessages(t *testing.T) {
	for _, tracing := range []bool{true, false} {
		name := "tracing off"
		if tracing {
			name = "tracing on"
		}
		t.Run(name, func(t *testing.T) {
			var exp *tracetest.InMemoryExporter
			if tracing {
				exp = telemetrytest.RecordSpans(t, nil)
			}
			ctx := t.Context()
			topic := mempubsub.NewTopic()
			defer topic.Shutdown(ctx)
			sub := mempubsub.NewSubscription(topic, time.Minute)
			defer sub.Shutdown(ctx)

			// The producer: an HTTP invocation that received a traceparent.
			inv := &core.Invocation{ID: "a", Cloud: core.CloudGCP, Function: "producer", Trace: mustTraceparent(t, w3cParent)}
			pctx, cancel := core.WithInvocation(ctx, inv)
			md := telemetry.TraceMetadata(pctx, map[string]string{"content-type": "application/json"})
			if err := topic.Send(pctx, &pubsub.Message{Body: []byte("{}"), Metadata: md}); err != nil {
				t.Fatal(err)
			}
			cancel()
			m, err := sub.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.Ack()
			if m.Metadata["content-type"] != "application/json" {
				t.Errorf("the message's own metadata was lost: %v", m.Metadata)
			}

			// The consumer: an invocation without a trace of its own.
			e := message(t, "m-1", m.Metadata)
			tr, ok := e.Trace()
			if !ok || tr.TraceID != traceHex {
				t.Fatalf("the delivered message carries trace %+v (%v), want %s", tr, ok, traceHex)
			}
			if !tracing {
				if tr.SpanID != parentSpan {
					t.Errorf("with tracing off the received context passes on unchanged: %+v", tr)
				}
				return
			}
			cinv := &core.Invocation{ID: "b", Cloud: core.CloudGCP, Function: "consumer"}
			cctx, ccancel := core.WithInvocation(ctx, cinv)
			var handled trace.SpanContext
			if err := core.Invoke(cctx, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
				handled = trace.SpanContextFromContext(ctx)
				return nil
			}), e); err != nil {
				t.Fatal(err)
			}
			ccancel()
			if handled.TraceID().String() != traceHex {
				t.Errorf("the consumer's handler runs in trace %s, want the producer's %s", handled.TraceID(), traceHex)
			}
			spans := exp.GetSpans()
			producer := spanNamed(t, spans, "producer")
			process := spanNamed(t, spans, "process orders")
			if process.Parent.SpanID() != producer.SpanContext.SpanID() {
				t.Errorf("the consumer's span has parent %s, want the producer's span %s", process.Parent.SpanID(), producer.SpanContext.SpanID())
			}
			consumer := spanNamed(t, spans, "consumer")
			if len(process.Links) != 1 || process.Links[0].SpanContext.SpanID() != consumer.SpanContext.SpanID() {
				t.Errorf("the consumer's span links %v, want its invocation's span", process.Links)
			}
		})
	}
}

// TestTracerColdStart flags the process's first invocation only, as the
// adapters record it.
func TestTracerColdStart(t *testing.T) {
	exp := telemetrytest.RecordSpans(t, nil)
	for _, id := range []string{"first", "second"} {
		inv := &core.Invocation{ID: id, Cloud: core.CloudAWS, Function: "f", ColdStart: id == "first"}
		_, cancel := core.WithInvocation(t.Context(), inv)
		cancel()
	}
	for i, want := range []bool{true, false} {
		if got := attrs(exp.GetSpans()[i])["faas.coldstart"].AsBool(); got != want {
			t.Errorf("span %d: faas.coldstart %v, want %v", i, got, want)
		}
	}
}

func TestTraceMetadataWithoutTrace(t *testing.T) {
	if md := telemetry.TraceMetadata(t.Context(), nil); md != nil {
		t.Errorf("a context without a trace adds %v", md)
	}
}

func mustTraceparent(t *testing.T, s string) core.Trace {
	t.Helper()
	tr, ok := core.ParseTraceparent(s)
	if !ok {
		t.Fatalf("bad traceparent %q", s)
	}
	return tr
}

func mustXRay(t *testing.T, s string) core.Trace {
	t.Helper()
	tr, ok := core.ParseXRay(s)
	if !ok {
		t.Fatalf("bad X-Ray header %q", s)
	}
	return tr
}

package telemetry

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
)

// The span attributes the tracer sets, from OpenTelemetry's FaaS, cloud,
// CloudEvents and messaging semantic conventions.
const (
	AttrInvocationID   = attribute.Key("faas.invocation_id")
	AttrColdStart      = attribute.Key("faas.coldstart")
	AttrCloudProvider  = attribute.Key("cloud.provider")
	AttrEventID        = attribute.Key("cloudevents.event_id")
	AttrEventType      = attribute.Key("cloudevents.event_type")
	AttrEventSource    = attribute.Key("cloudevents.event_source")
	AttrEventSubject   = attribute.Key("cloudevents.event_subject")
	AttrMessageID      = attribute.Key("messaging.message.id")
	AttrBatchSize      = attribute.Key("messaging.batch.message_count")
	AttrBatchFailed    = attribute.Key("polyfn.batch.failed")
	AttrResponseStatus = attribute.Key("http.response.status_code")
	tracerName         = meterName
)

// CloudProvider returns the cloud.provider value of OpenTelemetry's
// semantic conventions for a platform, or "" for the local runtime.
func CloudProvider(c core.Cloud) string {
	switch c {
	case core.CloudAWS:
		return "aws"
	case core.CloudGCP:
		return "gcp"
	case core.CloudAzure:
		return "azure"
	}
	return ""
}

// Tracer traces every invocation of a function: one server span per
// invocation, continuing the trace context the platform passed in (X-Ray,
// W3C traceparent or X-Cloud-Trace-Context), and one span per event handled
// in it, whose parent is the trace the event itself carries (a message's
// producer), so that a chain of functions joined by messages is one trace.
// It is a core.Observer and core.Starter: install it with core.SetObserver,
// joined to the metrics with core.Observers.
type Tracer struct {
	tracer trace.Tracer
	flush  func(context.Context)
}

var (
	_ core.Observer = (*Tracer)(nil)
	_ core.Starter  = (*Tracer)(nil)
)

// TracerOptions configure a Tracer. A nil *TracerOptions means the defaults.
type TracerOptions struct {
	// Flush is called at the end of every invocation, after its span ended:
	// on a platform that freezes or throttles the process between
	// invocations, the spans must leave before the reply does.
	Flush func(context.Context)
}

// NewTracer traces with tp's tracer.
func NewTracer(tp trace.TracerProvider, opts *TracerOptions) *Tracer {
	t := &Tracer{tracer: tp.Tracer(tracerName)}
	if opts != nil {
		t.flush = opts.Flush
	}
	return t
}

type invocationSpanKey struct{}

type eventSpanKey struct{}

// invocationSpan returns the span StartInvocation put in ctx.
func invocationSpan(ctx context.Context) (trace.Span, bool) {
	span, ok := ctx.Value(invocationSpanKey{}).(trace.Span)
	return span, ok
}

// StartInvocation starts the invocation's span, a child of the trace context
// the platform passed in (inv.Trace), or a new trace's root. When the
// platform passed none, inv.Trace is set to the new span's, so that logs
// and outgoing messages carry it.
func (t *Tracer) StartInvocation(ctx context.Context, inv *core.Invocation) context.Context {
	if parent, ok := SpanContext(inv.Trace); ok {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	attrs := []attribute.KeyValue{
		AttrFunction.String(inv.Function),
		AttrInvocationID.String(inv.ID),
		AttrColdStart.Bool(inv.ColdStart),
	}
	if p := CloudProvider(inv.Cloud); p != "" {
		attrs = append(attrs, AttrCloudProvider.String(p))
	}
	ctx, span := t.tracer.Start(ctx, inv.Function, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	if inv.Trace.IsZero() {
		inv.Trace = TraceOf(span.SpanContext(), inv.Cloud)
	}
	return context.WithValue(ctx, invocationSpanKey{}, span)
}

// StartEvent starts the span of one event's handling. Its parent is the
// trace context the event carries (core.Event.Trace), linked to the
// invocation's span; an event without one is a child of the invocation's.
func (t *Tracer) StartEvent(ctx context.Context, e core.Event) context.Context {
	invocation := trace.SpanContextFromContext(ctx)
	opts := []trace.SpanStartOption{trace.WithAttributes(
		AttrTrigger.String(Trigger(e.Kind())),
		AttrEventID.String(e.ID()),
		AttrEventType.String(e.Type()),
		AttrEventSource.String(e.Source()),
	)}
	if s := e.Subject(); s != "" {
		opts = append(opts, trace.WithAttributes(AttrEventSubject.String(s)))
	}
	name := e.Type()
	if e.Message != nil {
		opts = append(opts, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(AttrMessageID.String(e.Message.ID)))
		name = "process " + e.Source()
	}
	if tr, ok := e.Trace(); ok {
		if producer, ok := SpanContext(tr); ok && producer.TraceID() != invocation.TraceID() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, producer)
			if invocation.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: invocation}))
			}
		}
	}
	if span, ok := invocationSpan(ctx); ok {
		span.SetAttributes(AttrTrigger.String(Trigger(e.Kind())))
	}
	ctx, span := t.tracer.Start(ctx, name, opts...)
	return context.WithValue(ctx, eventSpanKey{}, span)
}

// Handled ends an event's span with the handler's outcome, or records an
// HTTP request's outcome on the invocation's span.
func (t *Tracer) Handled(ctx context.Context, h core.Handled) {
	if h.Kind != core.KindHTTP {
		span, ok := ctx.Value(eventSpanKey{}).(trace.Span)
		if !ok {
			return
		}
		if h.Err != nil {
			span.SetAttributes(AttrErrorType.String(core.CodeOf(h.Err).String()))
			span.SetStatus(codes.Error, core.CodeOf(h.Err).String())
		}
		span.End()
		return
	}
	span, ok := invocationSpan(ctx)
	if !ok {
		return
	}
	span.SetAttributes(AttrTrigger.String("http"), AttrResponseStatus.Int(h.Status))
	// A server span's 4xx is the client's error, not the server's.
	if h.Status >= http.StatusInternalServerError {
		span.SetAttributes(AttrErrorType.String(strconv.Itoa(h.Status)))
		span.SetStatus(codes.Error, http.StatusText(h.Status))
	}
}

// Batch records a batch's size and failures on the invocation's span.
func (t *Tracer) Batch(ctx context.Context, size, failed int) {
	if span, ok := invocationSpan(ctx); ok {
		span.SetAttributes(AttrBatchSize.Int(size), AttrBatchFailed.Int(failed))
		if failed > 0 {
			span.SetStatus(codes.Error, strconv.Itoa(failed)+" of "+strconv.Itoa(size)+" events failed")
		}
	}
}

// Ended ends the invocation's span and flushes.
func (t *Tracer) Ended(ctx context.Context, inv *core.Invocation) {
	span, ok := invocationSpan(ctx)
	if !ok {
		return
	}
	span.End()
	if t.flush != nil {
		t.flush(ctx)
	}
}

// SpanContext returns the remote span context of a trace context received
// from a platform: W3C, X-Ray (whose Root "1-<8 hex>-<24 hex>" is the trace
// id's 32 hex digits) or X-Cloud-Trace-Context (whose span id is decimal).
// ok is false for a trace without a usable trace and parent span id.
func SpanContext(t core.Trace) (trace.SpanContext, bool) {
	var cfg trace.SpanContextConfig
	id := t.TraceID
	if t.Format == core.TraceXRay {
		ver, rest, _ := strings.Cut(id, "-")
		if ver != "1" {
			return trace.SpanContext{}, false
		}
		id = strings.ReplaceAll(rest, "-", "")
	}
	if len(id) != 32 {
		return trace.SpanContext{}, false
	}
	if _, err := hex.Decode(cfg.TraceID[:], []byte(id)); err != nil {
		return trace.SpanContext{}, false
	}
	span := t.SpanID
	if t.Format == core.TraceGCP && span != "" {
		n, err := strconv.ParseUint(span, 10, 64)
		if err != nil {
			return trace.SpanContext{}, false
		}
		span = strconv.FormatUint(n, 16)
		span = strings.Repeat("0", 16-len(span)) + span
	}
	if len(span) != 16 {
		return trace.SpanContext{}, false
	}
	if _, err := hex.Decode(cfg.SpanID[:], []byte(span)); err != nil {
		return trace.SpanContext{}, false
	}
	if t.Sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// TraceOf returns a span context as the trace context a platform's own
// tools read: X-Ray's form on AWS, W3C elsewhere.
func TraceOf(sc trace.SpanContext, cloud core.Cloud) core.Trace {
	if !sc.IsValid() {
		return core.Trace{}
	}
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	sampled := sc.IsSampled()
	if cloud == core.CloudAWS {
		root := "1-" + tid[:8] + "-" + tid[8:]
		flag := "0"
		if sampled {
			flag = "1"
		}
		return core.Trace{Format: core.TraceXRay, TraceID: root, SpanID: sid, Sampled: sampled,
			Raw: "Root=" + root + ";Parent=" + sid + ";Sampled=" + flag}
	}
	return core.Trace{Format: core.TraceW3C, TraceID: tid, SpanID: sid, Sampled: sampled, Raw: traceparent(sc)}
}

func traceparent(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// TraceMetadata adds the trace context of ctx to md, the metadata of an
// outgoing message, as a W3C traceparent under core.TraceparentAttribute,
// and returns md (made when nil). The context is that of the current span
// when tracing is on, else the trace the invocation received, so that the
// function receiving the message continues the same trace either way:
//
//	topic.Send(ctx, &pubsub.Message{Body: b, Metadata: telemetry.TraceMetadata(ctx, nil)})
func TraceMetadata(ctx context.Context, md map[string]string) map[string]string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		if inv, ok := core.InvocationFrom(ctx); ok {
			sc, _ = SpanContext(inv.Trace)
		}
	}
	if !sc.IsValid() {
		return md
	}
	if md == nil {
		md = make(map[string]string, 1)
	}
	md[core.TraceparentAttribute] = traceparent(sc)
	if ts := sc.TraceState().String(); ts != "" {
		md["tracestate"] = ts
	}
	return md
}

// LogTrace returns the trace a record logged with ctx belongs to: the
// current span's, when tracing is on, so that a cloud's log viewer files it
// under that span; else the trace inv received from its platform.
func LogTrace(ctx context.Context, inv *core.Invocation) core.Trace {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return TraceOf(sc, inv.Cloud)
	}
	return inv.Trace
}

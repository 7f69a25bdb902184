package core

import "strings"

// The CloudEvents extensions that carry an event's own trace context, which
// a message keeps from its producer and which can differ from the trace of
// the invocation that delivers it.
const (
	// TraceparentExtension is the CloudEvents Distributed Tracing
	// extension: a W3C traceparent. Eventarc sets it on Google's events;
	// the Azure adapter sets it from a Service Bus message's Diagnostic-Id.
	TraceparentExtension = "traceparent"
	// XRayTraceExtension holds an X-Ray trace header
	// ("Root=1-…;Parent=…;Sampled=1"): the AWS adapter sets it from an SQS
	// message's AWSTraceHeader attribute.
	XRayTraceExtension = "xraytraceheader"
)

// The message attributes that carry a producer's W3C trace context when the
// platform does not lift it into the event: polyfn's own producers write
// TraceparentAttribute (telemetry.TraceMetadata), and Google's Pub/Sub
// client libraries write GooglePubSubTraceparentAttribute.
const (
	TraceparentAttribute             = "traceparent"
	GooglePubSubTraceparentAttribute = "googclient_traceparent"
)

// Trace returns the trace context the event itself carries: the
// TraceparentExtension or XRayTraceExtension, W3C first, or else a message's
// trace attribute (see TraceparentAttribute). ok is false when it carries
// none or an unreadable one.
func (e Event) Trace() (t Trace, ok bool) {
	ext := e.Extensions()
	if s, isString := ext[TraceparentExtension].(string); isString {
		if t, ok = ParseTraceparent(s); ok {
			return t, true
		}
	}
	if s, isString := ext[XRayTraceExtension].(string); isString {
		if t, ok = ParseXRay(s); ok {
			return t, true
		}
	}
	if e.Message != nil {
		for _, name := range [...]string{TraceparentAttribute, GooglePubSubTraceparentAttribute} {
			if s, found := e.Message.Attributes[name]; found {
				if t, ok = ParseTraceparent(s); ok {
					return t, true
				}
			}
		}
	}
	return Trace{}, false
}

// ParseXRay parses an X-Ray trace header, as Lambda passes it in
// Lambda-Runtime-Trace-Id and SQS in AWSTraceHeader:
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".
// Fields may come in any order and unknown ones (Lineage) are ignored; a
// header without a Root is not a trace.
func ParseXRay(raw string) (Trace, bool) {
	t := Trace{Format: TraceXRay, Raw: raw}
	for field := range strings.SplitSeq(raw, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Root":
			t.TraceID = v
		case "Parent":
			t.SpanID = v
		case "Sampled":
			t.Sampled = v == "1"
		}
	}
	if t.TraceID == "" {
		return Trace{}, false
	}
	return t, true
}

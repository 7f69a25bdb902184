package emulators

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPReceiver is an OpenTelemetry collector's OTLP/HTTP receiver, as far as
// exporters see it: it accepts protobuf-encoded export requests on
// /v1/traces and /v1/metrics, decodes them and keeps what they carry.
type OTLPReceiver struct {
	// URL is the receiver's base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	mu      sync.Mutex
	spans   []ReceivedSpan
	metrics []*metricpb.Metric
}

// ReceivedSpan is one span a receiver was sent, with its resource.
type ReceivedSpan struct {
	*tracepb.Span
	Resource []*commonpb.KeyValue
}

// TraceID returns the span's trace id in hex.
func (s ReceivedSpan) TraceID() string { return hex.EncodeToString(s.TraceId) }

// ParentSpanID returns the span's parent span id in hex, or "".
func (s ReceivedSpan) ParentSpanID() string { return hex.EncodeToString(s.Span.ParentSpanId) }

// SpanID returns the span's id in hex.
func (s ReceivedSpan) SpanID() string { return hex.EncodeToString(s.Span.SpanId) }

// Attr returns the span's string, boolean or integer attribute key as
// text, or "".
func (s ReceivedSpan) Attr(key string) string { return AttrText(s.Attributes, key) }

// AttrText returns an OTLP attribute as text, or "".
func AttrText(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key != key {
			continue
		}
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_BoolValue:
			if v.BoolValue {
				return "true"
			}
			return "false"
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		}
	}
	return ""
}

// StartOTLPReceiver starts a receiver on 127.0.0.1, stopped when the test
// ends.
func StartOTLPReceiver(t testing.TB) *OTLPReceiver {
	r := &OTLPReceiver{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Spans returns the spans received so far.
func (r *OTLPReceiver) Spans() []ReceivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReceivedSpan(nil), r.spans...)
}

// Metrics returns the metrics received so far.
func (r *OTLPReceiver) Metrics() []*metricpb.Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*metricpb.Metric(nil), r.metrics...)
}

// ServeHTTP decodes an export request and answers as a collector does.
func (r *OTLPReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "an OTLP/HTTP export is a protobuf POST", http.StatusBadRequest)
		return
	}
	var reply proto.Message
	switch req.URL.Path {
	case "/v1/traces":
		in := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range in.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans = append(r.spans, ReceivedSpan{Span: s, Resource: rs.GetResource().GetAttributes()})
				}
			}
		}
		r.mu.Unlock()
		reply = &coltracepb.ExportTraceServiceResponse{}
	case "/v1/metrics":
		in := &colmetricpb.ExportMetricsServiceRequest{}
		if err := proto.Unmarshal(body, in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rm := range in.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				r.metrics = append(r.metrics, sm.Metrics...)
			}
		}
		r.mu.Unlock()
		reply = &colmetricpb.ExportMetricsServiceResponse{}
	default:
		http.NotFound(w, req)
		return
	}
	b, err := proto.Marshal(reply)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

package gcpfunctions

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// traceFromHeader returns the trace context of an HTTP request: the W3C
// traceparent header when it is valid, else Google's X-Cloud-Trace-Context.
// Cloud Run sends both for the same trace; traceparent is the standard one.
func traceFromHeader(h http.Header) core.Trace {
	if t, ok := core.ParseTraceparent(h.Get("Traceparent")); ok {
		return t
	}
	t, _ := parseCloudTraceContext(h.Get("X-Cloud-Trace-Context"))
	return t
}

// parseCloudTraceContext parses an X-Cloud-Trace-Context value,
// "TRACE_ID/SPAN_ID;o=OPTIONS": a trace id of 32 hex digits, then optionally
// a span id in decimal (an unsigned 64-bit number, 0 meaning none) and the
// options, where o=1 means sampled.
func parseCloudTraceContext(s string) (core.Trace, bool) {
	raw := s
	s, opts, _ := strings.Cut(strings.TrimSpace(s), ";")
	traceID, spanID, hasSpan := strings.Cut(s, "/")
	traceID = strings.ToLower(traceID)
	if len(traceID) != 32 || !isHex(traceID) || strings.Trim(traceID, "0") == "" {
		return core.Trace{}, false
	}
	if hasSpan {
		n, err := strconv.ParseUint(spanID, 10, 64)
		if err != nil {
			return core.Trace{}, false
		}
		spanID = ""
		if n != 0 {
			spanID = strconv.FormatUint(n, 10)
		}
	}
	return core.Trace{Format: core.TraceGCP, TraceID: traceID, SpanID: spanID, Sampled: opts == "o=1", Raw: raw}, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

package gcpfunctions

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestTraceFromHeader(t *testing.T) {
	const (
		tp       = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		cloudCtx = "105445aa7843bc8bf206b12000100000/1234567890123456789;o=1"
	)
	tests := []struct {
		name    string
		headers map[string]string
		want    core.Trace
	}{
		{"traceparent wins", map[string]string{"Traceparent": tp, "X-Cloud-Trace-Context": cloudCtx},
			core.Trace{Format: core.TraceW3C, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true, Raw: tp}},
		{"X-Cloud-Trace-Context, decimal span", map[string]string{"X-Cloud-Trace-Context": cloudCtx},
			core.Trace{Format: core.TraceGCP, TraceID: "105445aa7843bc8bf206b12000100000", SpanID: "1234567890123456789", Sampled: true, Raw: cloudCtx}},
		{"invalid traceparent falls back", map[string]string{"Traceparent": "00-zz", "X-Cloud-Trace-Context": "105445AA7843BC8BF206B12000100000"},
			core.Trace{Format: core.TraceGCP, TraceID: "105445aa7843bc8bf206b12000100000", Raw: "105445AA7843BC8BF206B12000100000"}},
		{"span 0 is none, not sampled", map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/0;o=0"},
			core.Trace{Format: core.TraceGCP, TraceID: "105445aa7843bc8bf206b12000100000", Raw: "105445aa7843bc8bf206b12000100000/0;o=0"}},
		{"none", nil, core.Trace{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			if diff := cmp.Diff(tt.want, traceFromHeader(h)); diff != "" {
				t.Errorf("trace (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCloudTraceContextRejects(t *testing.T) {
	for _, s := range []string{
		"", "abc", "00000000000000000000000000000000/1;o=1",
		"105445aa7843bc8bf206b12000100000/-1", "105445aa7843bc8bf206b12000100000/0x10",
		"105445aa7843bc8bf206b12000100000/18446744073709551616", "105445aa7843bc8bf206b1200010000g",
	} {
		if tr, ok := parseCloudTraceContext(s); ok {
			t.Errorf("parseCloudTraceContext(%q) = %+v, want rejected", s, tr)
		}
	}
}

func FuzzCloudTraceContext(f *testing.F) {
	f.Add("105445aa7843bc8bf206b12000100000/1234567890123456789;o=1")
	f.Add("105445aa7843bc8bf206b12000100000")
	f.Add("/;o=")
	f.Fuzz(func(t *testing.T, s string) {
		tr, ok := parseCloudTraceContext(s)
		if !ok {
			return
		}
		if len(tr.TraceID) != 32 || !isHex(tr.TraceID) {
			t.Fatalf("trace id %q is not 32 lower-case hex digits", tr.TraceID)
		}
		if tr.SpanID != "" {
			if _, err := strconv.ParseUint(tr.SpanID, 10, 64); err != nil {
				t.Fatalf("span id %q is not decimal: %v", tr.SpanID, err)
			}
		}
	})
}

package gcpfunctions

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// benchInvocation is the invocation of the benchmarks: an HTTP function's
// serving the request it returns, with a traceparent, logged to by the
// Cloud Logging handler of the project "my-project".
func benchInvocation() (telemetrytest.Invocation, *http.Request) {
	req := httptest.NewRequest("POST", "http://users-abc.a.run.app/users?page=2", nil)
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	req.Header.Set("X-Forwarded-Proto", "https")
	trace, _ := core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	return telemetrytest.Invocation{
		Handler:  newLogHandler(io.Discard, slog.LevelInfo, "my-project"),
		Context:  func(ctx context.Context) context.Context { return telemetry.WithInvocationLog(withRequest(ctx, req)) },
		Metadata: core.Invocation{ID: "exec-1", Cloud: core.CloudGCP, Function: "users", Trace: trace},
	}, req
}

// BenchmarkInvocationTelemetry is what one log record through the Cloud
// Logging handler and the built-in metrics add to an HTTP function's
// invocation of the -tags gcp build, with a traceparent and the request the
// record's httpRequest describes.
func BenchmarkInvocationTelemetry(b *testing.B) {
	inv, _ := benchInvocation()
	telemetrytest.RunInvocationBenchmarks(b, inv)
}

// BenchmarkLogRecord is one record through the Cloud Logging handler in an
// HTTP function's invocation with a traceparent (the invocation of
// BenchmarkInvocationTelemetry), against slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	inv, req := benchInvocation()
	const traces = "projects/my-project/traces/"
	floor := newJSONHandler(io.Discard, slog.LevelInfo).WithAttrs(invocationFields(withRequest(context.Background(), req), traces, &inv.Metadata))
	telemetrytest.RunLogBenchmarks(b, "gcp", inv, floor)
}

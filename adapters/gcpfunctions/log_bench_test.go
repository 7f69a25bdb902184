package gcpfunctions

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// BenchmarkLogRecord is one record through the Cloud Logging handler in an
// HTTP function's invocation with a traceparent (the invocation of
// BenchmarkInvocationTelemetry), against slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	req := httptest.NewRequest("POST", "http://users-abc.a.run.app/users?page=2", nil)
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	req.Header.Set("X-Forwarded-Proto", "https")
	trace, _ := core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	inv := core.Invocation{ID: "exec-1", Cloud: core.CloudGCP, Function: "users", Trace: trace}
	const traces = "projects/my-project/traces/"
	floor := newJSONHandler(io.Discard, slog.LevelInfo).WithAttrs(invocationFields(withRequest(context.Background(), req), traces, &inv))
	telemetrytest.RunLogBenchmarks(b, "gcp", newLogHandler(io.Discard, slog.LevelInfo, "my-project"), floor, func(ctx context.Context) (context.Context, context.CancelFunc) {
		md := inv
		return core.WithInvocation(telemetry.WithInvocationLog(withRequest(ctx, req)), &md)
	})
}

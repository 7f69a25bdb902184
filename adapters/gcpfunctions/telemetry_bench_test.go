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

// BenchmarkInvocationTelemetry is what one log record through the Cloud
// Logging handler and the built-in metrics add to an HTTP function's
// invocation of the -tags gcp build, with a traceparent and the request the
// record's httpRequest describes.
func BenchmarkInvocationTelemetry(b *testing.B) {
	req := httptest.NewRequest("POST", "http://users-abc.a.run.app/users?page=2", nil)
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	req.Header.Set("X-Forwarded-Proto", "https")
	trace, _ := core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	telemetrytest.RunInvocationBenchmarks(b, telemetrytest.Invocation{
		Handler:  newLogHandler(io.Discard, slog.LevelInfo, "my-project"),
		Context:  func(ctx context.Context) context.Context { return telemetry.WithInvocationLog(withRequest(ctx, req)) },
		Metadata: core.Invocation{ID: "exec-1", Cloud: core.CloudGCP, Function: "users", Trace: trace},
	})
}

package local

import (
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/prom"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// BenchmarkInvocationTelemetry is what one log record (JSON, as with
// --log-format json) and the built-in metrics, read by the Prometheus
// endpoint, add to an invocation on the local runtime.
func BenchmarkInvocationTelemetry(b *testing.B) {
	telemetrytest.RunInvocationBenchmarks(b, telemetrytest.Invocation{
		Handler:       NewLogHandler(io.Discard, "json", slog.LevelInfo),
		MeterProvider: prom.New().MeterProvider(),
		Context:       telemetry.WithInvocationLog, // as the runtime's invocation does
		Metadata:      core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"},
	})
}

package azurefunctions

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// BenchmarkInvocationTelemetry is what one log record and the built-in
// metrics add to a default-mode invocation of the -tags azure build: the
// record goes to stdout and into the Logs of the reply, through the handlers
// cmd/launch installs.
func BenchmarkInvocationTelemetry(b *testing.B) {
	h := NewLogHandler(io.Discard, io.Discard, slog.LevelInfo)
	trace, _ := core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	telemetrytest.RunInvocationBenchmarks(b, telemetrytest.Invocation{
		Handler: h,
		Context: func(ctx context.Context) context.Context {
			return telemetry.WithInvocationLog(withLogs(ctx, &logBuffer{}))
		},
		Metadata: core.Invocation{ID: "a3ad4a1c-2a5a-4e07-9d6b-2c3d6f0f0c4e", Cloud: core.CloudAzure, Function: "on-order", Trace: trace},
	})
}

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

// BenchmarkLogRecord is one record through the azure build's handler in a
// default-mode invocation, to stdout and into the Logs of the reply, against
// slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	trace, _ := core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	inv := core.Invocation{ID: "a3ad4a1c-2a5a-4e07-9d6b-2c3d6f0f0c4e", Cloud: core.CloudAzure, Function: "on-order", Trace: trace}
	logs := &logBuffer{}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: telemetry.RedactAttr}
	floor := slog.NewJSONHandler(keepingWriter{&lockedWriter{w: io.Discard}, logs}, opts).WithAttrs(telemetry.InvocationFields(context.Background(), &inv))
	telemetrytest.RunLogBenchmarks(b, "azure", NewLogHandler(io.Discard, io.Discard, slog.LevelInfo), floor, func(ctx context.Context) (context.Context, context.CancelFunc) {
		// Past maxLogLines the buffer counts the lines it drops instead of
		// keeping them; the line is copied for it either way.
		ctx = telemetry.WithInvocationLog(withLogs(ctx, &logBuffer{}))
		md := inv
		return core.WithInvocation(ctx, &md)
	})
}

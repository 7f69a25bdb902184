package local

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// BenchmarkLogRecord is one record through the local runtime's JSON log
// handler (--log-format json) in an invocation, against slog.JSONHandler's
// own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	inv := core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"}
	floor := newBaseHandler(io.Discard, "json", slog.LevelInfo).WithAttrs(telemetry.InvocationFields(context.Background(), &inv))
	telemetrytest.RunLogBenchmarks(b, "local", NewLogHandler(io.Discard, "json", slog.LevelInfo), floor, func(ctx context.Context) (context.Context, context.CancelFunc) {
		md := inv
		return core.WithInvocation(telemetry.WithInvocationLog(ctx), &md)
	})
}

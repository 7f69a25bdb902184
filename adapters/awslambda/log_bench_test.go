package awslambda

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// BenchmarkLogRecord is one record through Lambda's JSON log handler in an
// invocation, against slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	trace, _ := core.ParseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	inv := core.Invocation{ID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", Cloud: core.CloudAWS, Function: "users", Trace: trace}
	floor := newJSONHandler(io.Discard, slog.LevelInfo).WithAttrs(invocationFields(context.Background(), &inv))
	telemetrytest.RunLogBenchmarks(b, "aws", NewLogHandler(io.Discard, slog.LevelInfo), floor, func(ctx context.Context) (context.Context, context.CancelFunc) {
		md := inv
		return core.WithInvocation(telemetry.WithInvocationLog(ctx), &md)
	})
}

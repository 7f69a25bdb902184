package local

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/prom"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// benchInvocation is the invocation of the benchmarks: the runtime's, its
// records in JSON, as with --log-format json.
func benchInvocation() telemetrytest.Invocation {
	return telemetrytest.Invocation{
		Handler:  NewLogHandler(io.Discard, "json", slog.LevelInfo),
		Context:  telemetry.WithInvocationLog, // as the runtime's invocation does
		Metadata: core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"},
	}
}

// BenchmarkInvocationTelemetry is what one log record and the built-in
// metrics, read by the Prometheus endpoint, add to an invocation on the
// local runtime.
func BenchmarkInvocationTelemetry(b *testing.B) {
	inv := benchInvocation()
	inv.MeterProvider = prom.New().MeterProvider()
	telemetrytest.RunInvocationBenchmarks(b, inv)
}

// BenchmarkLogRecord is one record through the local runtime's JSON log
// handler in an invocation, against slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	inv := benchInvocation()
	floor := newBaseHandler(io.Discard, "json", slog.LevelInfo).WithAttrs(telemetry.InvocationFields(context.Background(), &inv.Metadata))
	telemetrytest.RunLogBenchmarks(b, "local", inv, floor)
}

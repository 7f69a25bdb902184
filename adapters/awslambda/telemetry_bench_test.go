package awslambda

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/emf"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// benchInvocation is the invocation of the benchmarks: Lambda's JSON log
// handler, and the room for its handlers the handler's invocation gives it.
func benchInvocation() telemetrytest.Invocation {
	return telemetrytest.Invocation{
		Handler:  NewLogHandler(io.Discard, slog.LevelInfo),
		Context:  telemetry.WithInvocationLog,
		Metadata: logMetadata(),
	}
}

// BenchmarkInvocationTelemetry is what one log record through Lambda's JSON
// log handler and the built-in metrics add to an invocation of the -tags aws
// build, with the EMF flush at its end measured apart.
func BenchmarkInvocationTelemetry(b *testing.B) {
	inv := benchInvocation()
	e := emf.New(io.Discard, "")
	inv.MeterProvider, inv.Flush = e.MeterProvider(), e.Flush
	telemetrytest.RunInvocationBenchmarks(b, inv)
}

// BenchmarkLogRecord is one record through Lambda's JSON log handler in an
// invocation, against slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	inv := benchInvocation()
	floor := newJSONHandler(io.Discard, slog.LevelInfo).WithAttrs(invocationFields(context.Background(), &inv.Metadata))
	telemetrytest.RunLogBenchmarks(b, "aws", inv, floor)
}

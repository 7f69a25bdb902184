package azurefunctions

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// benchInvocation is the invocation of the benchmarks: a default-mode one,
// its records going to stdout and into the Logs of the reply through the
// handlers cmd/launch installs.
func benchInvocation() telemetrytest.Invocation {
	return telemetrytest.Invocation{
		Handler: NewLogHandler(io.Discard, io.Discard, slog.LevelInfo),
		Context: func(ctx context.Context) context.Context {
			// Past maxLogLines the buffer counts the lines it drops instead
			// of keeping them; the line is copied for it either way.
			return telemetry.WithInvocationLog(withLogs(ctx, &logBuffer{}))
		},
		Metadata: logMetadata(),
	}
}

// BenchmarkInvocationTelemetry is what one log record and the built-in
// metrics add to a default-mode invocation of the -tags azure build.
func BenchmarkInvocationTelemetry(b *testing.B) {
	telemetrytest.RunInvocationBenchmarks(b, benchInvocation())
}

// BenchmarkLogRecord is one record through the azure build's handler in a
// default-mode invocation, to stdout and into the Logs of the reply, against
// slog.JSONHandler's own cost for it.
func BenchmarkLogRecord(b *testing.B) {
	inv := benchInvocation()
	opts := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: telemetry.RedactAttr}
	floor := slog.NewJSONHandler(keepingWriter{&lockedWriter{w: io.Discard}, &logBuffer{}}, opts).WithAttrs(telemetry.InvocationFields(context.Background(), &inv.Metadata))
	telemetrytest.RunLogBenchmarks(b, "azure", inv, floor)
}

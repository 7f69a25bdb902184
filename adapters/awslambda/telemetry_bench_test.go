package awslambda

import (
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/emf"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// BenchmarkInvocationTelemetry is what one log record through Lambda's JSON
// log handler and the built-in metrics add to an invocation of the -tags aws
// build, with the EMF flush at its end measured apart.
func BenchmarkInvocationTelemetry(b *testing.B) {
	trace, _ := core.ParseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	e := emf.New(io.Discard, "")
	telemetrytest.RunInvocationBenchmarks(b, telemetrytest.Invocation{
		Handler:       NewLogHandler(io.Discard, slog.LevelInfo),
		MeterProvider: e.MeterProvider(),
		Flush:         e.Flush,
		Context:       telemetry.WithInvocationLog, // as the handler's invocation does
		Metadata: core.Invocation{ID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", Cloud: core.CloudAWS, Function: "users",
			Trace: trace},
	})
}

package telemetrytest

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// RecordSpans makes a telemetry.Tracer with opts the process's core.Observer
// until the test ends, its spans kept in memory as each ends.
func RecordSpans(t testing.TB, opts *telemetry.TracerOptions) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	core.SetObserver(telemetry.NewTracer(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)), opts))
	t.Cleanup(func() { core.SetObserver(nil) })
	return exp
}

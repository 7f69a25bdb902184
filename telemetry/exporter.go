package telemetry

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
)

// An Exporter sends a process's spans and metrics to a backend. A program
// opts into one by importing the package that registers it, as it links a
// gocloud.dev driver:
//
//	import _ "github.com/polyfn/polyfn/telemetry/otlp" // OTLP, as the OTEL_* variables say
//
// launch.Start asks the registered exporter for its providers at start-up.
// A program that imports none makes no spans and links no exporter, no
// protobuf runtime and no gRPC; its built-in metrics are those its platform
// reads without a collector (EMF on AWS, Prometheus locally).
type Exporter interface {
	// TracerProvider returns a provider that exports spans with res, or
	// nil when getenv configures no trace export.
	TracerProvider(res *resource.Resource, getenv func(string) string) (TracerProvider, error)
	// MeterProvider returns a provider that exports metrics with res, or
	// nil when getenv configures no metric export. traced says whether the
	// process exports traces too, for the choice of exemplars.
	MeterProvider(res *resource.Resource, getenv func(string) string, traced bool) (MeterProvider, error)
}

// TracerProvider is a tracer provider whose spans can be flushed and which
// can be shut down, as the OpenTelemetry SDK's is.
type TracerProvider interface {
	trace.TracerProvider
	ForceFlush(context.Context) error
	Shutdown(context.Context) error
}

// MeterProvider is a meter provider whose metrics can be flushed and which
// can be shut down, as the OpenTelemetry SDK's is.
type MeterProvider interface {
	metric.MeterProvider
	ForceFlush(context.Context) error
	Shutdown(context.Context) error
}

var (
	exporterMu sync.Mutex
	exporter   Exporter
)

// RegisterExporter makes e the process's exporter. Packages call it from
// init; a second registration is a programmer error and panics, as
// sql.Register does.
func RegisterExporter(e Exporter) {
	exporterMu.Lock()
	defer exporterMu.Unlock()
	if e == nil {
		panic("telemetry: RegisterExporter with a nil exporter")
	}
	if exporter != nil {
		panic("telemetry: RegisterExporter called twice")
	}
	exporter = e
}

// RegisteredExporter returns the exporter a package registered, or nil.
func RegisteredExporter() Exporter {
	exporterMu.Lock()
	defer exporterMu.Unlock()
	return exporter
}

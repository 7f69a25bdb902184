// Package otlp starts OpenTelemetry's OTLP exporters as the standard OTEL_*
// environment variables configure them, over HTTP with protobuf (the
// protocol collectors take on port 4318).
//
// A function opts into OTLP export by importing this package, which
// registers it as the process's telemetry.Exporter for launch.Start:
//
//	import _ "github.com/polyfn/polyfn/telemetry/otlp"
//
// Without the import, a binary links no exporter, no protobuf runtime and
// no gRPC. `polyfn dev` links it, and a program that wires its own
// telemetry can call TracerProvider and MeterProvider directly.
//
// An exporter is started only when a collector is named
// (OTEL_EXPORTER_OTLP_ENDPOINT, or the signal's own endpoint variable): a
// function with no collector makes no spans and no network calls.
package otlp

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/polyfn/polyfn/telemetry"
)

func init() { telemetry.RegisterExporter(exporter{}) }

// exporter is this package's telemetry.Exporter.
type exporter struct{}

func (exporter) TracerProvider(res *resource.Resource, getenv func(string) string) (telemetry.TracerProvider, error) {
	tp, err := TracerProvider(res, getenv)
	if tp == nil {
		return nil, err // no typed nil in the interface
	}
	return tp, err
}

func (exporter) MeterProvider(res *resource.Resource, getenv func(string) string, traced bool) (telemetry.MeterProvider, error) {
	mp, err := MeterProvider(res, getenv, traced)
	if mp == nil {
		return nil, err
	}
	return mp, err
}

// Signal is a kind of telemetry OTLP carries.
type Signal string

// The signals.
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
)

// The variables read here. The exporters read the rest themselves
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE and
// their per-signal forms), the SDK OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG, and the metric reader
// OTEL_METRIC_EXPORT_INTERVAL.
const (
	EnvSDKDisabled     = "OTEL_SDK_DISABLED"
	EnvEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesExporter  = "OTEL_TRACES_EXPORTER"
	EnvMetricsExporter = "OTEL_METRICS_EXPORTER"
)

// Configured reports whether signal is to be exported over OTLP: a
// collector endpoint is set for it, its exporter variable is unset or
// "otlp", and the SDK is not disabled. It fails for another exporter or a
// protocol other than http/protobuf, the only one this package links.
func Configured(signal Signal, getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), "true") {
		return false, nil
	}
	exporterVar := EnvTracesExporter
	if signal == Metrics {
		exporterVar = EnvMetricsExporter
	}
	switch e := strings.TrimSpace(getenv(exporterVar)); e {
	case "", "otlp":
	case "none":
		return false, nil
	default:
		return false, fmt.Errorf("otlp: %s=%s: only otlp is linked", exporterVar, e)
	}
	upper := strings.ToUpper(string(signal))
	if getenv(EnvEndpoint) == "" && getenv("OTEL_EXPORTER_OTLP_"+upper+"_ENDPOINT") == "" {
		return false, nil
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_" + upper + "_PROTOCOL")
	if protocol == "" {
		protocol = getenv(EnvProtocol)
	}
	if protocol != "" && protocol != "http/protobuf" {
		return false, fmt.Errorf("otlp: %s=%s: only http/protobuf is linked", EnvProtocol, protocol)
	}
	return true, nil
}

// TracerProvider returns a tracer provider exporting to the configured
// collector in batches, with res, or nil when no collector is configured
// (see Configured). Shut it down to send what it holds.
func TracerProvider(res *resource.Resource, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	ok, err := Configured(Traces, getenv)
	if !ok || err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(context.Background())
	if err != nil {
		return nil, fmt.Errorf("otlp: trace exporter: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// MeterProvider returns a meter provider whose metrics are collected and
// sent to the configured collector every OTEL_METRIC_EXPORT_INTERVAL (60 s
// by default) and at shut-down, with res, or nil when no collector is
// configured (see Configured). traced says whether the process exports
// traces: see ExemplarFilter.
func MeterProvider(res *resource.Resource, getenv func(string) string, traced bool) (*sdkmetric.MeterProvider, error) {
	ok, err := Configured(Metrics, getenv)
	if !ok || err != nil {
		return nil, err
	}
	exp, err := otlpmetrichttp.New(context.Background())
	if err != nil {
		return nil, fmt.Errorf("otlp: metric exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res)}
	if f := ExemplarFilter(getenv, traced); f != nil {
		opts = append(opts, sdkmetric.WithExemplarFilter(f))
	}
	return sdkmetric.NewMeterProvider(opts...), nil
}

// EnvExemplarFilter chooses which measurements the SDK offers to exemplar
// reservoirs: always_on, always_off or trace_based (the SDK's default).
const EnvExemplarFilter = "OTEL_METRICS_EXEMPLAR_FILTER"

// ExemplarFilter returns the exemplar filter of a meter provider in a
// process that exports traces (traced) or not, or nil for the SDK's own
// choice. An exemplar names the sampled span a measurement was made in: in
// a process that exports no traces there is none to name, and the SDK's
// trace-based filter would only look for one in the context of every
// measurement, so unless OTEL_METRICS_EXEMPLAR_FILTER chooses, no
// measurement is offered.
func ExemplarFilter(getenv func(string) string, traced bool) exemplar.Filter {
	if traced || strings.TrimSpace(getenv(EnvExemplarFilter)) != "" {
		return nil
	}
	return exemplar.AlwaysOffFilter
}

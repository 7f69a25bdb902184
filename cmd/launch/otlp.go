package launch

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
)

// OpenTelemetry's standard variables that configure OTLP export. The
// exporters read the rest themselves (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _COMPRESSION, _CERTIFICATE and their per-signal forms), and the SDK reads
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
const (
	envSDKDisabled     = "OTEL_SDK_DISABLED"
	envEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesExporter  = "OTEL_TRACES_EXPORTER"
	envMetricsExporter = "OTEL_METRICS_EXPORTER"
)

// otlpConfigured reports whether signal ("traces" or "metrics") is to be
// exported over OTLP: an endpoint is set for it, its exporter is not
// "none", and the SDK is not disabled. It fails for a protocol other than
// OTLP over HTTP with protobuf, the one polyfn links (collectors take it on
// port 4318).
func otlpConfigured(signal string, getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv(envSDKDisabled)), "true") {
		return false, nil
	}
	exporterVar := envTracesExporter
	if signal == "metrics" {
		exporterVar = envMetricsExporter
	}
	switch e := strings.TrimSpace(getenv(exporterVar)); e {
	case "", "otlp":
	case "none":
		return false, nil
	default:
		return false, fmt.Errorf("%s=%s: this build exports only otlp", exporterVar, e)
	}
	upper := strings.ToUpper(signal)
	if getenv(envEndpoint) == "" && getenv("OTEL_EXPORTER_OTLP_"+upper+"_ENDPOINT") == "" {
		return false, nil
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_" + upper + "_PROTOCOL")
	if protocol == "" {
		protocol = getenv(envProtocol)
	}
	if protocol != "" && protocol != "http/protobuf" {
		return false, fmt.Errorf("%s=%s: this build exports OTLP over http/protobuf only", envProtocol, protocol)
	}
	return true, nil
}

// startTracing starts OTLP trace export when it is configured, else
// returns nil: with no collector to send to, no span is made. The spans of
// an invocation are flushed at its end on the platforms that freeze or
// throttle a process between invocations (Lambda, Cloud Run functions);
// elsewhere they leave in batches.
func startTracing(res *resource.Resource) (*exporter[trace.TracerProvider], error) {
	ok, err := otlpConfigured("traces", os.Getenv)
	if !ok || err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(context.Background())
	if err != nil {
		return nil, fmt.Errorf("launch: OTLP trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	x := &exporter[trace.TracerProvider]{provider: tp, shutdown: tp.Shutdown}
	if flushEachInvocation {
		x.flush = func(ctx context.Context) {
			ctx, cancel := flushContext(ctx)
			defer cancel()
			_ = tp.ForceFlush(ctx) // the exporter logs through otel.Handle
		}
	}
	return x, nil
}

// otlpMetrics starts OTLP metric export when it is configured, else returns
// nil: metrics are collected and sent every OTEL_METRIC_EXPORT_INTERVAL
// (60 s by default), and when the process stops.
func otlpMetrics(res *resource.Resource) (*exporter[metric.MeterProvider], error) {
	ok, err := otlpConfigured("metrics", os.Getenv)
	if !ok || err != nil {
		return nil, err
	}
	exp, err := otlpmetrichttp.New(context.Background())
	if err != nil {
		return nil, fmt.Errorf("launch: OTLP metric exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
	return &exporter[metric.MeterProvider]{provider: mp, shutdown: mp.Shutdown}, nil
}

// flushTimeout bounds the export at the end of an invocation.
const flushTimeout = 2 * time.Second

// flushContext bounds a flush by flushTimeout and by the invocation's
// deadline, if it is sooner.
func flushContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(flushTimeout)
	if inv, ok := core.InvocationFrom(ctx); ok && !inv.Deadline.IsZero() && inv.Deadline.Before(d) {
		d = inv.Deadline
	}
	return context.WithDeadline(context.WithoutCancel(ctx), d)
}

package launch

import (
	"context"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// startTracing starts trace export through the registered exporter
// (telemetry.RegisterExporter: import telemetry/otlp) when the environment
// configures it, else returns nil: with nowhere to send spans, none is
// made. The spans of an invocation are flushed at its end on the platforms
// that freeze or throttle a process between invocations (Lambda, Cloud Run
// functions); elsewhere they leave in batches.
func startTracing(res func() *resource.Resource) (*exporter[trace.TracerProvider], error) {
	e := telemetry.RegisteredExporter()
	if e == nil {
		warnUnlinked()
		return nil, nil
	}
	tp, err := e.TracerProvider(res(), os.Getenv)
	if tp == nil || err != nil {
		return nil, err
	}
	x := &exporter[trace.TracerProvider]{provider: tp, shutdown: tp.Shutdown}
	if flushEachInvocation {
		x.flush = func(ctx context.Context) {
			ctx, cancel := flushContext(ctx)
			defer cancel()
			_ = tp.ForceFlush(ctx) // the exporter reports its failures through otel.Handle
		}
	}
	return x, nil
}

// otlpMetrics starts metric export through the registered exporter when
// the environment configures it, else returns nil; traced says whether
// traces are exported too.
func otlpMetrics(res func() *resource.Resource, traced bool) (*exporter[metric.MeterProvider], error) {
	e := telemetry.RegisteredExporter()
	if e == nil {
		return nil, nil
	}
	mp, err := e.MeterProvider(res(), os.Getenv, traced)
	if mp == nil || err != nil {
		return nil, err
	}
	return &exporter[metric.MeterProvider]{provider: mp, shutdown: mp.Shutdown}, nil
}

// otlpEndpointVars are the standard variables that name an OTLP collector.
var otlpEndpointVars = []string{
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
}

// warnUnlinked says so when the environment names a collector but the
// binary links no exporter: the deployment expects telemetry that the
// build left out.
func warnUnlinked() {
	for _, v := range otlpEndpointVars {
		if os.Getenv(v) != "" {
			slog.Warn("launch: "+v+" is set, but this binary links no telemetry exporter; "+
				`import _ "github.com/polyfn/polyfn/telemetry/otlp" in its main to export spans and metrics`,
				slog.String("variable", v))
			return
		}
	}
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

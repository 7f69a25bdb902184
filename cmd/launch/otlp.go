package launch

import (
	"context"
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry/otlp"
)

// startTracing starts OTLP trace export when it is configured, else
// returns nil: with no collector to send to, no span is made. The spans of
// an invocation are flushed at its end on the platforms that freeze or
// throttle a process between invocations (Lambda, Cloud Run functions);
// elsewhere they leave in batches.
func startTracing(res *resource.Resource) (*exporter[trace.TracerProvider], error) {
	tp, err := otlp.TracerProvider(res, os.Getenv)
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

// otlpMetrics starts OTLP metric export when it is configured, else returns
// nil; traced says whether traces are exported too.
func otlpMetrics(res *resource.Resource, traced bool) (*exporter[metric.MeterProvider], error) {
	mp, err := otlp.MeterProvider(res, os.Getenv, traced)
	if mp == nil || err != nil {
		return nil, err
	}
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

package launch

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// MetricsEnv turns the built-in metrics off when set to "off".
const MetricsEnv = "POLYFN_METRICS"

func metricsOff() bool { return strings.EqualFold(strings.TrimSpace(os.Getenv(MetricsEnv)), "off") }

// exporter is a telemetry pipeline a target starts: a provider, what to do
// at the end of each invocation, and how to stop it (flushing what is left).
type exporter[P any] struct {
	provider P
	flush    func(context.Context)
	shutdown func(context.Context) error
}

// startTelemetry installs the built-in metrics (the target's exporter) and
// tracing (OTLP, when configured), joined as the process's core.Observer,
// and makes their providers OpenTelemetry's global ones, from which
// functions' own instruments and gocloud.dev's spans come. It returns the
// function that removes them and flushes what they hold.
func startTelemetry(apps []*core.App) (stop func()) {
	// The resource is made only for an exporter that sends it: the
	// platforms' own formats (EMF, Prometheus) do without, and a function
	// that exports nothing does not pay for it at start-up.
	res := sync.OnceValue(func() *resource.Resource { return newResource(apps) })
	var observers []core.Observer
	var shutdowns []func(context.Context) error
	// Tracing starts first, as the metrics' exemplars depend on it; the
	// metrics observe before the tracer, as they did.
	tx, err := startTracing(res)
	if err != nil {
		slog.Warn("launch: tracing off", slog.Any("error", err))
		tx = nil
	}
	if !metricsOff() {
		if mx, err := startMetrics(res, tx != nil); err != nil {
			slog.Warn("launch: metrics off", slog.Any("error", err))
		} else if mx != nil {
			m, err := telemetry.NewMetrics(mx.provider, &telemetry.MetricsOptions{Flush: mx.flush})
			if err != nil {
				slog.Warn("launch: metrics off", slog.Any("error", err))
			} else {
				otel.SetMeterProvider(mx.provider)
				observers = append(observers, m)
				shutdowns = append(shutdowns, mx.shutdown)
			}
		}
	}
	if tx != nil {
		otel.SetTracerProvider(tx.provider)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
		observers = append(observers, telemetry.NewTracer(tx.provider, &telemetry.TracerOptions{Flush: tx.flush}))
		shutdowns = append(shutdowns, tx.shutdown)
	}
	core.SetObserver(core.Observers(observers...))
	return func() {
		core.SetObserver(nil)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownFlushTimeout)
		defer cancel()
		for _, shutdown := range shutdowns {
			if shutdown == nil {
				continue
			}
			if err := shutdown(ctx); err != nil {
				slog.Warn("launch: flushing telemetry", slog.Any("error", err))
			}
		}
	}
}

// shutdownFlushTimeout bounds the export of what telemetry holds when the
// process stops.
const shutdownFlushTimeout = 2 * time.Second

// newResource describes the process to the telemetry backends: the
// platform's attributes (platformResource), service.name from the app,
// then OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which win.
func newResource(apps []*core.App) *resource.Resource {
	attrs := platformResource(os.Getenv)
	if len(apps) == 1 {
		attrs = append(attrs, attribute.String("service.name", apps[0].Name()))
	}
	res, err := resource.New(context.Background(),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
		resource.WithFromEnv(),
	)
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES: keep what was read.
		slog.Warn("launch: telemetry resource", slog.Any("error", err))
	}
	return res
}

// appendEnv appends key with the value of the variable env, when it is set.
func appendEnv(attrs []attribute.KeyValue, getenv func(string) string, key, env string) []attribute.KeyValue {
	if v := getenv(env); v != "" {
		attrs = append(attrs, attribute.String(key, v))
	}
	return attrs
}

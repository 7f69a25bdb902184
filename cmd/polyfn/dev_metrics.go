package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/otlp"
	"github.com/polyfn/polyfn/telemetry/prom"
)

// devTelemetry records the functions' built-in metrics and returns the
// handler of polyfn dev's GET /_polyfn/metrics, in the Prometheus text
// format; the global OpenTelemetry meter provider (otel.Meter) feeds it too.
// When an OTLP collector is configured (OTEL_EXPORTER_OTLP_ENDPOINT), it
// traces every invocation there too, as a cloud build does. stop sends what
// the tracer holds.
func devTelemetry() (metrics http.Handler, stop func()) {
	var observers []core.Observer
	stop = func() {}
	e := prom.New()
	if m, err := telemetry.NewMetrics(e.MeterProvider(), nil); err != nil {
		slog.Warn("polyfn dev: metrics off", slog.Any("error", err))
	} else {
		otel.SetMeterProvider(e.MeterProvider())
		observers = append(observers, m)
		metrics = e
	}
	res, _ := resource.New(context.Background(), resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", "polyfn-dev")), resource.WithFromEnv())
	if tp, err := otlp.TracerProvider(res, os.Getenv); err != nil {
		slog.Warn("polyfn dev: tracing off", slog.Any("error", err))
	} else if tp != nil {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.TraceContext{})
		observers = append(observers, telemetry.NewTracer(tp, nil))
		stop = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := tp.Shutdown(ctx); err != nil {
				slog.Warn("polyfn dev: sending spans", slog.Any("error", err))
			}
		}
	}
	core.SetObserver(core.Observers(observers...))
	return metrics, stop
}

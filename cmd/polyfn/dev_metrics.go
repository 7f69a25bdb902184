package main

import (
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/core/telemetry"
	"github.com/polyfn/polyfn/core/telemetry/prom"
)

// devMetrics records the functions' built-in metrics and returns the handler
// of polyfn dev's GET /_polyfn/metrics, in the Prometheus text format; the
// global OpenTelemetry meter provider (otel.Meter) feeds it too.
func devMetrics() http.Handler {
	e := prom.New()
	m, err := telemetry.NewMetrics(e.MeterProvider(), nil)
	if err != nil {
		slog.Warn("polyfn dev: metrics off", slog.Any("error", err))
		return nil
	}
	otel.SetMeterProvider(e.MeterProvider())
	core.SetObserver(m)
	return e
}

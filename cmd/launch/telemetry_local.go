//go:build !aws && !gcp && !azure

package launch

import (
	"net/http"

	"github.com/polyfn/polyfn/core/telemetry/prom"
)

// metricsHandler serves the local runtime's GET /_polyfn/metrics, set by
// startTelemetry.
var metricsHandler http.Handler

// startTelemetry collects the metrics for the local runtime's Prometheus
// endpoint, read at each scrape.
func startTelemetry() (stop func()) {
	if metricsOff() {
		return func() {}
	}
	e := prom.New()
	metricsHandler = e
	return observe(e.MeterProvider(), nil)
}

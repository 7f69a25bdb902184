//go:build !aws && !gcp && !azure

package launch

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/telemetry/prom"
)

// metricsHandler serves the local runtime's GET /_polyfn/metrics, set by
// startMetrics.
var metricsHandler http.Handler

// startMetrics collects the metrics for the local runtime's Prometheus
// endpoint, read at each scrape.
func startMetrics(func() *resource.Resource, bool) (*exporter[metric.MeterProvider], error) {
	e := prom.New()
	metricsHandler = e
	return &exporter[metric.MeterProvider]{provider: e.MeterProvider()}, nil
}

// The local runtime's process is never frozen.
const flushEachInvocation = false

// platformResource names no cloud.
func platformResource(func(string) string) []attribute.KeyValue { return nil }

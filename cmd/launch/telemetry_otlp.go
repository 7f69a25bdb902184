//go:build gcp || azure

package launch

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// startMetrics exports the metrics over OTLP to the collector that
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)
// names: a sidecar on Cloud Run, the OpenTelemetry collector an Azure
// Functions app is given. Without one, no metrics are recorded and
// functions' own instruments are no-ops.
func startMetrics(res func() *resource.Resource, traced bool) (*exporter[metric.MeterProvider], error) {
	return otlpMetrics(res, traced)
}

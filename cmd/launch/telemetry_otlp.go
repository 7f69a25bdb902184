//go:build gcp || azure

package launch

import (
	"log/slog"
	"os"
)

// startTelemetry records no metrics yet on GCP and Azure: their exporter is
// OTLP to a collector, whose module this build does not link (see
// docs/observability.md). Functions' own instruments stay no-ops.
func startTelemetry() (stop func()) {
	if endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); endpoint != "" && !metricsOff() {
		slog.Warn("launch: OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build exports no metrics over OTLP yet",
			slog.String("endpoint", endpoint))
	}
	return func() {}
}

//go:build aws

package launch

import (
	"context"
	"log/slog"
	"os"

	"github.com/polyfn/polyfn/core/telemetry/emf"
)

// startTelemetry writes the metrics of each invocation to stdout at its end
// in CloudWatch's Embedded Metric Format, under the namespace
// POLYFN_METRICS_NAMESPACE (default "polyfn"). No connection is made:
// CloudWatch Logs extracts the metrics from the function's log stream.
func startTelemetry() (stop func()) {
	if metricsOff() {
		return func() {}
	}
	e := emf.New(os.Stdout, os.Getenv("POLYFN_METRICS_NAMESPACE"))
	return observe(e.MeterProvider(), func(ctx context.Context) {
		if err := e.Flush(ctx); err != nil {
			slog.WarnContext(ctx, "launch: writing metrics", slog.Any("error", err))
		}
	})
}

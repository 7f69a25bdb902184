package launch

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/core/telemetry"
)

// MetricsEnv turns the built-in metrics off when set to "off".
const MetricsEnv = "POLYFN_METRICS"

func metricsOff() bool { return strings.EqualFold(strings.TrimSpace(os.Getenv(MetricsEnv)), "off") }

// observe installs the built-in metrics on mp, with flush called at the end
// of every invocation, and makes mp the global provider, from which
// functions' own instruments come (otel.Meter). It returns the function that
// removes them.
func observe(mp metric.MeterProvider, flush func(context.Context)) func() {
	m, err := telemetry.NewMetrics(mp, &telemetry.MetricsOptions{Flush: flush})
	if err != nil {
		slog.Warn("launch: metrics off", slog.Any("error", err))
		return func() {}
	}
	otel.SetMeterProvider(mp)
	core.SetObserver(m)
	return func() { core.SetObserver(nil) }
}

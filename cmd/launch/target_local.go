//go:build !aws && !gcp && !azure

package launch

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/core/telemetry"
)

// Target is the platform this binary was built for.
const Target = core.CloudLocal

// run serves apps on the local runtime. POLYFN_ADDR sets the address
// (default 127.0.0.1:$PORT, or 127.0.0.1:8080), POLYFN_DATA_DIR the data
// directory (default ./.polyfn).
func run(ctx context.Context, apps []*core.App) error {
	addr := os.Getenv("POLYFN_ADDR")
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = "127.0.0.1:" + port
	}
	return local.Run(ctx, apps, &local.Options{Addr: addr, DataDir: os.Getenv("POLYFN_DATA_DIR"), Metrics: metricsHandler}, 30*time.Second)
}

func newLogHandler() slog.Handler {
	return telemetry.NewStampHandler(local.NewLogHandler(os.Stderr, os.Getenv("POLYFN_LOG_FORMAT"), LogLevel()), telemetry.StampInvocation)
}

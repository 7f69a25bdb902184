//go:build !aws && !gcp && !azure

package launch

import (
	"context"
	"log/slog"
	"os"

	"github.com/polyfn/polyfn/adapters/local"
	_ "github.com/polyfn/polyfn/adapters/local/localkafka" // kafka:// stream triggers; only builds without a cloud tag link it
	"github.com/polyfn/polyfn/core"
	_ "github.com/polyfn/polyfn/providers/local" // file://, mem://, constant:// and base64key:// for every kind, as polyfn dev serves them
)

// Target is the platform this binary was built for.
const Target = core.CloudLocal

// run serves apps on the local runtime. POLYFN_ADDR sets the address
// (default 127.0.0.1:$PORT, or 127.0.0.1:8080), POLYFN_DATA_DIR the data
// directory (default ./.polyfn).
//
// An app that accepts tokens from an OIDC issuer whose variable is unset
// gets the development issuer, as under polyfn dev: it serves on
// POLYFN_ISSUER_ADDR (default a free port on 127.0.0.1) and records its URL
// in the data directory, so that `polyfn token` signs tokens it accepts.
func run(ctx context.Context, apps []*core.App) error {
	addr := os.Getenv("POLYFN_ADDR")
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = "127.0.0.1:" + port
	}
	dataDir := os.Getenv("POLYFN_DATA_DIR")
	if dataDir == "" {
		dataDir = ".polyfn"
	}
	opts := &local.Options{Addr: addr, DataDir: dataDir, Metrics: metricsHandler}
	if needsIssuer(apps, os.Getenv) {
		issuerAddr := os.Getenv("POLYFN_ISSUER_ADDR")
		if issuerAddr == "" {
			issuerAddr = "127.0.0.1:0"
		}
		iss, err := local.StartIssuer(ctx, dataDir, issuerAddr)
		if err != nil {
			return err
		}
		defer iss.Close()
		opts.OIDCIssuer = iss.URL
		slog.Info("development OIDC issuer serving", slog.String("issuer", iss.URL), slog.String("audience", local.DevAudience),
			slog.String("tokens", "polyfn token --data "+dataDir+" --sub <subject> --scope <scopes>"))
	}
	return local.Run(ctx, apps, opts)
}

// needsIssuer reports whether an app declares an OIDC issuer variable that
// getenv leaves unset.
func needsIssuer(apps []*core.App, getenv func(string) string) bool {
	for _, a := range apps {
		for _, r := range a.Resources() {
			if r.Kind == core.KindOIDCIssuer && getenv(r.Env) == "" {
				return true
			}
		}
	}
	return false
}

func newLogHandler() slog.Handler {
	return local.NewLogHandler(os.Stderr, os.Getenv("POLYFN_LOG_FORMAT"), LogLevel())
}

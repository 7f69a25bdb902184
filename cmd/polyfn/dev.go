package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/providers"
	_ "github.com/polyfn/polyfn/providers/local"
	_ "github.com/polyfn/polyfn/providers/selfhosted" // nats://, rabbit://
)

func init() {
	commands["dev"] = command{summary: "run the example functions on the local runtime", run: dev}
}

// exampleApps returns the example functions that polyfn dev runs.
func exampleApps() []*core.App {
	return []*core.App{users.New(), thumbnails.New(), orders.New()}
}

func dev(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen `address`")
	data := fs.String("data", ".polyfn", "data `directory` for local buckets, dead letters and keys")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	drain := fs.Duration("drain", 30*time.Second, "how long to wait for in-flight invocations on shutdown")
	issuerAddr := fs.String("issuer-addr", "127.0.0.1:8081", "listen `address` of the development OIDC issuer (tokens from polyfn token)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *logFormat != "text" && *logFormat != "json" {
		fmt.Fprintf(stderr, "polyfn dev: --log-format must be text or json, not %q\n", *logFormat)
		return errUsage
	}
	logger := slog.New(local.NewLogHandler(stderr, *logFormat, level))
	slog.SetDefault(logger)
	iss, err := local.StartIssuer(ctx, *data, *issuerAddr)
	if err != nil {
		return err
	}
	defer iss.Close()
	logger.Info("development OIDC issuer serving", slog.String("issuer", iss.URL), slog.String("audience", local.DevAudience),
		slog.String("tokens", "polyfn token --sub alice --scope 'users:read users:write'"))
	metrics, stopTelemetry := devTelemetry()
	defer stopTelemetry()
	err = local.Run(ctx, exampleApps(), &local.Options{
		Addr: *addr, DataDir: *data, Logger: logger, OIDCIssuer: iss.URL, Metrics: metrics, Drain: drainFlag(*drain),
	})
	return providers.Explain(err)
}

// drainFlag maps --drain to local.Options.Drain: 0 waits for nothing, as
// it always has on the command line, where the option's zero means its
// default.
func drainFlag(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

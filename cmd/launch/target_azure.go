//go:build azure

package launch

import (
	"context"
	"errors"
	"go.opentelemetry.io/otel/attribute"
	"log/slog"
	"os"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

// Building with more than one platform tag declares this constant twice, and
// the compiler's "redeclared" error names the mistake.
const polyfn_build_tags_aws_gcp_azure_are_mutually_exclusive_use_exactly_one = true

// Target is the platform this binary was built for.
const Target = core.CloudAzure

// drainTimeout bounds how long invocations in flight may finish after the
// host (or a signal) stops the process.
const drainTimeout = 30 * time.Second

// run serves apps as an Azure Functions custom handler on
// 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT (7071 when run on its own), with
// the route prefix and function timeout of the host.json in
// $FUNCTIONS_APP_ROOT_PATH (the working directory when unset).
func run(ctx context.Context, apps []*core.App) error {
	if err := checkEnv(apps); err != nil {
		return err
	}
	root := os.Getenv("FUNCTIONS_APP_ROOT_PATH")
	if root == "" {
		root = "."
	}
	opts, err := azurefunctions.HostOptions(root)
	if err != nil {
		return err
	}
	h, err := azurefunctions.New(apps, opts)
	if err != nil {
		return err
	}
	started, err := initApps(ctx, apps)
	if err == nil {
		err = azurefunctions.Run(ctx, azurefunctions.Addr(nil), h, drainTimeout)
	}
	return errors.Join(err, closeApps(context.WithoutCancel(ctx), started))
}

// initApps resolves each app's environment and runs its init hooks, and
// returns the apps that started.
func initApps(ctx context.Context, apps []*core.App) ([]*core.App, error) {
	for i, a := range apps {
		env, err := core.ResolveEnv(a, nil, nil)
		if err == nil {
			err = a.Init(ctx, env)
		}
		if err != nil {
			return apps[:i], err
		}
	}
	return apps, nil
}

// closeApps runs the close hooks of apps, last started first.
func closeApps(ctx context.Context, apps []*core.App) error {
	var errs []error
	for i := len(apps) - 1; i >= 0; i-- {
		errs = append(errs, apps[i].Close(ctx))
	}
	return errors.Join(errs...)
}

// newLogHandler writes JSON lines, which the host collects from the
// process: warnings and errors to stderr, which the host reports as errors,
// and the rest to stdout. It also keeps each invocation's lines for the Logs
// of its reply.
func newLogHandler() slog.Handler {
	return azurefunctions.NewLogHandler(os.Stdout, os.Stderr, LogLevel())
}

// The Functions host keeps the handler's process running between
// invocations: spans leave in batches.
const flushEachInvocation = false

// platformResource reads what App Service tells a function app about
// itself.
func platformResource(getenv func(string) string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("cloud.provider", "azure"),
		attribute.String("cloud.platform", "azure_functions"),
	}
	attrs = appendEnv(attrs, getenv, "cloud.region", "REGION_NAME")
	attrs = appendEnv(attrs, getenv, "faas.name", "WEBSITE_SITE_NAME")
	return appendEnv(attrs, getenv, "faas.instance", "WEBSITE_INSTANCE_ID")
}

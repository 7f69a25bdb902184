//go:build azure

package launch

import (
	"context"
	"go.opentelemetry.io/otel/attribute"
	"log/slog"
	"os"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

// Building with more than one platform tag declares this constant twice, and
// the compiler's "redeclared" error names the mistake.
const polyfn_build_tags_aws_gcp_azure_are_mutually_exclusive_use_exactly_one = true

// Target is the platform this binary was built for.
const Target = core.CloudAzure

// run serves apps as an Azure Functions custom handler on
// 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT (7071 when run on its own), with
// the route prefix and function timeout of the host.json in
// $FUNCTIONS_APP_ROOT_PATH (the working directory when unset).
// azurefunctions.Run resolves the apps' environment, runs their init hooks,
// and drains invocations in flight for 30 seconds when the host (or a
// signal) stops the process.
func run(ctx context.Context, apps []*core.App) error {
	root := os.Getenv("FUNCTIONS_APP_ROOT_PATH")
	if root == "" {
		root = "."
	}
	opts, err := azurefunctions.HostOptions(root)
	if err != nil {
		return err
	}
	return azurefunctions.Run(ctx, apps, opts)
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

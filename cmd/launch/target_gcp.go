//go:build gcp

package launch

import (
	"context"
	"go.opentelemetry.io/otel/attribute"
	"log/slog"
	"os"

	"github.com/polyfn/polyfn/adapters/gcpfunctions"
	"github.com/polyfn/polyfn/core"
)

// Building with more than one platform tag declares this constant twice, and
// the compiler's "redeclared" error names the mistake.
const polyfn_build_tags_aws_gcp_azure_are_mutually_exclusive_use_exactly_one = true

// Target is the platform this binary was built for.
const Target = core.CloudGCP

// run starts apps (resolving their environment and running their init
// hooks), registers their entry points with the Functions Framework and
// serves the one FUNCTION_TARGET names, on every interface and $PORT (8080),
// or on POLYFN_ADDR when it is set. When ctx ends it drains in-flight
// invocations and closes the apps within gcpfunctions.ShutdownTimeout.
func run(ctx context.Context, apps []*core.App) error {
	return gcpfunctions.Run(ctx, apps, nil)
}

// newLogHandler writes Cloud Logging's structured JSON, with each
// invocation's trace, execution id and HTTP request.
func newLogHandler() slog.Handler {
	return gcpfunctions.NewLogHandler(os.Stderr, LogLevel())
}

// Cloud Run functions allot CPU only while a request is served.
const flushEachInvocation = true

// platformResource reads what Cloud Run functions tell a function about
// itself.
func platformResource(getenv func(string) string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("cloud.provider", "gcp"),
		attribute.String("cloud.platform", "gcp_cloud_functions"),
	}
	attrs = appendEnv(attrs, getenv, "faas.name", "K_SERVICE")
	attrs = appendEnv(attrs, getenv, "faas.version", "K_REVISION")
	for _, v := range []string{"GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GCLOUD_PROJECT"} {
		if p := getenv(v); p != "" {
			return append(attrs, attribute.String("cloud.account.id", p))
		}
	}
	return attrs
}

//go:build aws

package launch

import (
	"context"
	"log/slog"
	"os"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
)

// Building with more than one platform tag declares this constant twice, and
// the compiler's "redeclared" error names the mistake.
const polyfn_build_tags_aws_gcp_azure_are_mutually_exclusive_use_exactly_one = true

// Target is the platform this binary was built for.
const Target = core.CloudAWS

// run serves the app as this process's Lambda function (one app per
// function) until ctx ends, then closes it. awslambda.Run resolves the
// environment itself, so that a missing variable is also reported to Lambda
// as the function's init error, naming it.
func run(ctx context.Context, apps []*core.App) error {
	return awslambda.Run(ctx, apps, nil)
}

// newLogHandler writes Lambda's JSON log format, with each invocation's
// request id and X-Ray trace id.
func newLogHandler() slog.Handler {
	return awslambda.NewLogHandler(os.Stderr, LogLevel())
}

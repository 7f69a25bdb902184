//go:build azure

package launch

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/polyfn/polyfn/core"
)

// Building with more than one platform tag declares this constant twice, and
// the compiler's "redeclared" error names the mistake.
const polyfn_build_tags_aws_gcp_azure_are_mutually_exclusive_use_exactly_one = true

// Target is the platform this binary was built for.
const Target = core.CloudAzure

// run checks the environment, then reports that the Azure Functions custom-handler adapter (adapters/azurefunctions) is not
// built yet (polyfn issue #5).
func run(ctx context.Context, apps []*core.App) error {
	if err := checkEnv(apps); err != nil {
		return err
	}
	return fmt.Errorf("launch: the %s target is not yet available: the Azure Functions custom-handler adapter (adapters/azurefunctions) has not been built", Target)
}

func newLogHandler() slog.Handler {
	return slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: LogLevel()})
}

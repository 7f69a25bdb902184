// Package launch runs function apps on the platform chosen when the binary is
// built: `go build -tags aws` for AWS Lambda, `-tags gcp` for Google Cloud
// Functions, `-tags azure` for Azure Functions, and no tag for polyfn's local
// runtime (the default for `go run`). A function's main is one line:
//
//	func main() { launch.Start(users.New()) }
//
// Only this package's target files are tagged, so a binary links the SDKs of
// its own platform and no other's; two platform tags at once fail to compile
// with an error that says so.
package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/providers"
)

// Start runs apps on the build's target until SIGINT or SIGTERM, then drains
// in-flight invocations and returns. It logs a start-up failure and exits the
// process with status 1.
//
// With POLYFN_MANIFEST=1 in the environment, Start instead prints the apps'
// declarations (core.Manifest) as a JSON array on standard output and exits:
// that is how `polyfn build` learns a function's routes and triggers.
func Start(apps ...*core.App) {
	if os.Getenv(ManifestEnv) == "1" {
		if err := WriteManifests(os.Stdout, apps...); err != nil {
			fmt.Fprintln(os.Stderr, "polyfn:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(newLogHandler()))
	defer startTelemetry(apps)()
	if err := Run(ctx, apps...); err != nil {
		slog.Error("polyfn: stopped", slog.String("target", string(Target)), slog.Any("error", err))
		stop()
		os.Exit(1)
	}
}

// ManifestEnv is the variable that makes Start print manifests.
const ManifestEnv = "POLYFN_MANIFEST"

// WriteManifests writes the apps' manifests as an indented JSON array.
func WriteManifests(w io.Writer, apps ...*core.App) error {
	ms := make([]core.Manifest, len(apps))
	for i, a := range apps {
		ms[i] = a.Manifest()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ms)
}

// Run runs apps on the build's target until ctx ends.
func Run(ctx context.Context, apps ...*core.App) error {
	if len(apps) == 0 {
		return fmt.Errorf("launch: no app to run")
	}
	// A URL whose driver this build lacks is explained with the tag that
	// would link it.
	return providers.Explain(run(ctx, apps))
}

// LogLevel reads POLYFN_LOG_LEVEL (debug, info, warn, error; default info).
func LogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(os.Getenv("POLYFN_LOG_LEVEL")))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// Command polyfn is polyfn's command-line tool.
//
//	polyfn dev [--addr 127.0.0.1:8080] [--data .polyfn] [--log-format text|json] [--log-level info]
//
// runs every example function on the local runtime.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
	_ "github.com/polyfn/polyfn/providers/local"
)

const usage = `polyfn: write a serverless function once, run it on AWS Lambda, Google Cloud
Functions, Azure Functions or locally.

Usage:
  polyfn dev [flags]    run the example functions on the local runtime
  polyfn help           show this help

Run 'polyfn <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the process's exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "dev":
		err = dev(ctx, args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "polyfn: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "polyfn %s: %v\n", args[0], err)
	return 1
}

var errUsage = errors.New("usage")

// exampleApps returns the example functions that polyfn dev runs.
func exampleApps() []*core.App {
	return []*core.App{users.New(), thumbnails.New(), orders.New()}
}

func dev(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen `address`")
	data := fs.String("data", ".polyfn", "data `directory` for local buckets, dead letters and keys")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	drain := fs.Duration("drain", 30*time.Second, "how long to wait for in-flight invocations on shutdown")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "polyfn dev: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if *logFormat != "text" && *logFormat != "json" {
		fmt.Fprintf(stderr, "polyfn dev: --log-format must be text or json, not %q\n", *logFormat)
		return errUsage
	}
	logger := slog.New(core.NewLogHandler(local.NewLogHandler(stderr, *logFormat, level)))
	slog.SetDefault(logger)
	return local.Run(ctx, exampleApps(), &local.Options{Addr: *addr, DataDir: *data, Logger: logger}, *drain)
}

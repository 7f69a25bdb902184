package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
)

func init() {
	commands["lambda"] = command{summary: "run a Lambda bootstrap locally under the Lambda Runtime API", run: lambdaCommand}
}

const lambdaUsage = "Usage: polyfn lambda serve --bootstrap FILE [--addr 127.0.0.1:9001] [--timeout 30s] [--name NAME] [--memory MB] [--env KEY=VALUE]... [--url ADDR [--url-mode RESPONSE_STREAM|BUFFERED]]\n"

func lambdaCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(stderr, lambdaUsage)
		return errUsage
	}
	return lambdaServe(ctx, args[1:], stdout, stderr)
}

// lambdaServe runs a bootstrap (a provided.al2023 custom runtime, such as
// one `polyfn build --cloud aws` packs) against a local Lambda Runtime API
// until ctx ends, and takes invocations as AWS's runtime interface emulator
// does. Its address and invoke URL go to stdout; the bootstrap's output and
// the server's log go to stderr.
func lambdaServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn lambda serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, lambdaUsage+"\n")
		fs.PrintDefaults()
	}
	bootstrap := fs.String("bootstrap", "", "the function's `executable`, such as bootstrap from dist/aws/<name>.zip (required)")
	addr := fs.String("addr", "127.0.0.1:9001", "listen `address` of the Runtime API and the invoke endpoint")
	timeout := fs.Duration("timeout", 30*time.Second, "the function's timeout")
	name := fs.String("name", "function", "the function's `name`")
	memory := fs.Int("memory", 128, "the memory size the function is told, in `MB`")
	var env envList
	fs.Var(&env, "env", "a `KEY=VALUE` variable for the function; repeat for more")
	urlAddr := fs.String("url", "", "also serve the function's URL on this `address`: plain HTTP requests, passed to the function as a function URL's")
	urlMode := fs.String("url-mode", string(runtimeapi.ResponseStream), "the function URL's invoke `mode`: RESPONSE_STREAM (as polyfn build gives an app that streams) or BUFFERED")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *bootstrap == "" {
		fmt.Fprintln(stderr, "polyfn lambda serve: --bootstrap is required")
		return errUsage
	}
	mode := runtimeapi.InvokeMode(*urlMode)
	if mode != runtimeapi.ResponseStream && mode != runtimeapi.Buffered {
		fmt.Fprintf(stderr, "polyfn lambda serve: --url-mode %q: want RESPONSE_STREAM or BUFFERED\n", *urlMode)
		return errUsage
	}
	s, err := runtimeapi.Start(ctx, *addr, &runtimeapi.Options{
		Bootstrap: *bootstrap, Env: env, Timeout: *timeout, FunctionName: *name, MemoryMB: *memory,
		Stdout: stderr, Stderr: stderr, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Lambda Runtime API on %s\ninvoke with: curl -d @event.json %s\n", s.Addr(), s.InvokeURL())
	if *urlAddr != "" {
		ln, err := net.Listen("tcp", *urlAddr)
		if err != nil {
			_ = s.Close()
			return err
		}
		srv := &http.Server{Handler: s.FunctionURL(mode), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(stdout, "function URL (%s) on http://%s/\n", mode, ln.Addr())
	}
	<-ctx.Done()
	return s.Close()
}

// envList is a repeated KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(kv string) error {
	if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", kv)
	}
	*e = append(*e, kv)
	return nil
}

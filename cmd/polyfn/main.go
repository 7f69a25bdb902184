// Command polyfn is polyfn's command-line tool.
//
//	polyfn dev [--addr 127.0.0.1:8080] [--data .polyfn] [--log-format text|json] [--log-level info]
//	polyfn new NAME [--module PATH] [--dir DIR]
//	polyfn build --cloud aws|gcp|azure [--arch arm64|amd64] [--out dist] ./cmd/<name>
//	polyfn lambda serve --bootstrap ./bootstrap [--addr 127.0.0.1:9001]
//	polyfn events --cloud aws|gcp|azure --trigger object|message|change|timer|stream [--source S] [--kind K] [--body @FILE|TEXT]
//	polyfn token --sub alice --scope "users:read users:write" [--aud A] [--ttl 1h]
//	polyfn inspect --cloud aws|gcp|azure --transport lambda|http|custom-handler --trigger http|object|message|change|timer
//	               [--method M --url PATH?QUERY] [--header 'Name: value']... [FILE|-]
//
// Each command lives in a file of its own and registers itself in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run returns errUsage after printing a usage
// message, flag.ErrHelp after printing help, or any other error to print.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by the init functions of the command files.
var commands = map[string]command{}

var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func usage() string {
	var b strings.Builder
	b.WriteString("polyfn: write a serverless function once, run it on AWS Lambda, Google Cloud\nFunctions, Azure Functions or locally.\n\nUsage:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  polyfn %-8s %s\n", n, commands[n].summary)
	}
	b.WriteString("  polyfn help     show this help\n\nRun 'polyfn <command> -h' for a command's flags.\n")
	return b.String()
}

// run executes the command line and returns the process's exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "polyfn: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "polyfn %s: %v\n", args[0], err)
	return 1
}

// parseFlags parses a command's flags and reports a usage error for
// leftover arguments beyond maxArgs.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args()[maxArgs:])
		return errUsage
	}
	return nil
}

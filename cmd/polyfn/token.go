package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
)

func init() {
	commands["token"] = command{summary: "print a token from the development OIDC issuer", run: token}
}

func token(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "the token's `subject` (required)")
	scope := fs.String("scope", "", "space-separated `scopes`")
	roles := fs.String("roles", "", "space-separated `roles`")
	aud := fs.String("aud", local.DevAudience, "the token's `audience`")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	data := fs.String("data", ".polyfn", "the data `directory` of the polyfn dev that serves the issuer")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *sub == "" {
		fmt.Fprintln(stderr, "polyfn token: --sub is required")
		return errUsage
	}
	tok, err := local.IssueToken(*data, local.TokenRequest{
		Subject: *sub, Scopes: strings.Fields(*scope), Roles: strings.Fields(*roles), Audience: *aud, TTL: *ttl,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
)

// inspectAWS decodes a Lambda event with the AWS adapter's Decode, in the
// context aws-lambda-go's runtime loop makes from the Runtime API headers.
// The payload alone decides how it is decoded; the trigger only checks the
// result.
func inspectAWS(ctx context.Context, in inspectInput) (*core.Delivery, error) {
	if in.method != "" || in.url != "" {
		return nil, errors.New("--method and --url do not apply to a Lambda event, which carries any request in the payload")
	}
	app := core.NewApp("inspect")
	app.Size(in.sizing)
	h, err := awslambda.New([]*core.App{app}, &awslambda.Options{
		Env:         func(string) string { return "" },
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		ReplyMargin: -1, // the deadline as Lambda gives it
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := awslambda.RuntimeContext(ctx, in.header)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return h.Decode(ctx, in.body)
}

package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/polyfn/polyfn/core"
)

// RuntimeAPIEnv is the variable through which Lambda tells a custom runtime
// where its Runtime API is (host:port).
const RuntimeAPIEnv = "AWS_LAMBDA_RUNTIME_API"

// Run runs apps, which must be exactly one app, as this process's Lambda
// function until ctx ends (Lambda sends SIGTERM before it stops an
// execution environment), then closes it within opts.CloseTimeout. It
// resolves the app's environment, runs its init hooks, and serves
// invocations from the Runtime API with aws-lambda-go's runtime loop. A
// failure before the first invocation is reported to the Runtime API, which
// Lambda shows as the function's init error, and returned.
func Run(ctx context.Context, apps []*core.App, opts *Options) error {
	app, err := oneApp(apps)
	if err != nil {
		return err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = defaultCloseTimeout
	}
	api := os.Getenv(RuntimeAPIEnv)
	h, err := initialize(ctx, app, api, o)
	if err != nil {
		if api != "" {
			reportInitError(ctx, api, err)
		}
		return err
	}
	// WithEnableSIGTERM registers the internal extension without which
	// Lambda stops an environment with SIGKILL alone, so that Run gets to
	// close the app. Registering is a round trip to the Runtime API at
	// every cold start, so it is done only for an app that has something
	// to close: telemetry needs no shut-down on Lambda, as it is flushed at
	// the end of every invocation. The loop never returns: it exits the
	// process if it cannot talk to the Runtime API.
	loop := []lambda.Option{lambda.WithContext(ctx)}
	if app.HasCloseHooks() {
		loop = append(loop, lambda.WithEnableSIGTERM())
	}
	go lambda.StartWithOptions(h.entry(app), loop...)
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CloseTimeout)
	defer cancel()
	return app.Close(cctx)
}

// oneApp returns the one app of apps: Lambda runs one app per function.
func oneApp(apps []*core.App) (*core.App, error) {
	if len(apps) != 1 || apps[0] == nil {
		return nil, fmt.Errorf("awslambda: Lambda runs one app per function; got %d apps", len(apps))
	}
	return apps[0], nil
}

func initialize(ctx context.Context, app *core.App, api string, o Options) (*Handler, error) {
	// A unit that is not the app's fails before anything is opened.
	if o.Unit == "" {
		o.Unit = os.Getenv(core.UnitEnv)
	}
	if _, err := unitOf(app, o.Unit); err != nil {
		return nil, err
	}
	env, err := core.ResolveEnv(app, nil, nil)
	if err != nil {
		return nil, err
	}
	if api == "" {
		return nil, fmt.Errorf("awslambda: %s is not set: run the bootstrap on AWS Lambda, or locally with `polyfn lambda serve --bootstrap <file>`", RuntimeAPIEnv)
	}
	if err := app.Init(ctx, env); err != nil {
		return nil, err
	}
	o.Env = env
	return New([]*core.App{app}, &o)
}

// reportInitError posts err to the Runtime API's init/error endpoint. It is
// best effort: the process exits next, and Lambda reports the exit anyway.
func reportInitError(ctx context.Context, api string, cause error) {
	errorType := "Runtime.InitError"
	var missing *core.MissingEnvError
	if errors.As(cause, &missing) {
		errorType = "Runtime.ConfigInvalid"
	}
	body, _ := json.Marshal(map[string]string{"errorMessage": cause.Error(), "errorType": errorType})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	// Like aws-lambda-go's own client: the Runtime API is never reached
	// through a proxy, whatever HTTP_PROXY says.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
}

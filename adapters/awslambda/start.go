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

// Start runs app as this process's Lambda function until ctx ends (Lambda
// sends SIGTERM before it stops an execution environment): it resolves the
// app's environment, runs its init hooks, and serves invocations from the
// Runtime API with aws-lambda-go's runtime loop. A failure before the first
// invocation is reported to the Runtime API, which Lambda shows as the
// function's init error, and returned. The caller closes the app.
func Start(ctx context.Context, app *core.App) error {
	api := os.Getenv(RuntimeAPIEnv)
	h, err := initialize(ctx, app, api)
	if err != nil {
		if api != "" {
			reportInitError(ctx, api, err)
		}
		return err
	}
	// WithEnableSIGTERM registers the internal extension without which
	// Lambda stops an environment with SIGKILL alone, so the caller's
	// signal handling gets to close the app. The loop never returns: it
	// exits the process if it cannot talk to the Runtime API.
	go lambda.StartWithOptions(h, lambda.WithContext(ctx), lambda.WithEnableSIGTERM())
	<-ctx.Done()
	return nil
}

func initialize(ctx context.Context, app *core.App, api string) (*Handler, error) {
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
	return New(app, &Options{Env: env})
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

//go:build polyfn_deps

// Package deps pins, in go.mod, the modules that the adapter and provider
// work in progress imports, so that `go mod tidy` keeps them between steps.
// It is never built (the tag polyfn_deps is never set). Remove each line once
// a real import of the module lands.
package deps

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	_ "github.com/aws/aws-lambda-go/events"
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/cloudevents/sdk-go/v2"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "google.golang.org/protobuf/proto"
)

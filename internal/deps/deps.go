//go:build polyfn_deps

// Package deps pins, in go.mod, modules that planned work will import (the
// Azure queue SDK, an in-process NATS server for machines without one), so
// that `go mod tidy` keeps them.
// It is never built (the tag polyfn_deps is never set). Remove each line once
// a real import of the module lands.
package deps

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "google.golang.org/protobuf/proto"
)

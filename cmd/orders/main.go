// Command orders is the deployable entry point of the orders example function.
// Build it with -tags aws, gcp or azure for a cloud, or run it as it is on
// the local runtime.
package main

import (
	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/functions/orders"
	_ "github.com/polyfn/polyfn/providers/blob"   // the bucket driver of the build's cloud
	_ "github.com/polyfn/polyfn/providers/pubsub" // the pub/sub drivers of the build's cloud, NATS and RabbitMQ
	_ "github.com/polyfn/polyfn/telemetry/otlp"   // spans and metrics over OTLP, when OTEL_EXPORTER_OTLP_ENDPOINT names a collector
)

func main() { launch.Start(orders.New()) }

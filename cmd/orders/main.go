// Command orders is the deployable entry point of the orders example function.
// Build it with -tags aws, gcp or azure for a cloud, or run it as it is on
// the local runtime.
package main

import (
	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/functions/orders"
)

func main() { launch.Start(orders.New()) }

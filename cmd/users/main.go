// Command users is the deployable entry point of the users example function.
// Build it with -tags aws, gcp or azure for a cloud, or run it as it is on
// the local runtime.
package main

import (
	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/functions/users"
	_ "github.com/polyfn/polyfn/providers/blob"       // the bucket driver of the build's cloud
	_ "github.com/polyfn/polyfn/providers/runtimevar" // the runtime variable drivers (API keys) of the build's cloud
)

func main() { launch.Start(users.New()) }

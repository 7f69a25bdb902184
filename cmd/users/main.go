// Command users is the deployable entry point of the users example function.
// Build it with -tags aws, gcp or azure for a cloud, or run it as it is on
// the local runtime.
package main

import (
	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/functions/users"
)

func main() { launch.Start(users.New()) }

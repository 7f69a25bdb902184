// Command usersnodrivers is the users function on the GCP adapter without
// the Google Cloud gocloud drivers (providers/gcp), which a -tags gcp build
// links: the cold-start benchmark uses it to tell the adapter's cost from
// the drivers'. It is served like a source bundle's cmd/main.go.
package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/polyfn/polyfn/adapters/gcpfunctions"
	"github.com/polyfn/polyfn/functions/users"
	_ "github.com/polyfn/polyfn/providers/local"
)

func main() {
	gcpfunctions.MustRegister(users.New())
	host, port, err := gcpfunctions.ListenAddress(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	if err := funcframework.StartHostPort(host, port); err != nil {
		log.Fatal(err)
	}
}

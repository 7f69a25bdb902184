// Command adapteronly is the users function on the AWS adapter with none of
// the cloud drivers cmd/launch links: the cold-start benchmark's measure of
// what the adapter itself costs at start-up.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/users"
	_ "github.com/polyfn/polyfn/providers/local" // file://
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := awslambda.Run(ctx, []*core.App{users.New()}, nil); err != nil {
		log.Fatal(err)
	}
}

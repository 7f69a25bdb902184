// Command units is an app of three deployment units — its HTTP routes, an
// object function and a message function — on the AWS adapter, for the
// end-to-end test of a bootstrap told its unit by POLYFN_UNIT. Each
// function that receives an event writes a file named after itself in
// $UNITS_OUT.
package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
)

func main() {
	app := core.NewApp("units")
	app.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
	mark := func(name string) core.Handler {
		return core.HandlerFunc(func(context.Context, core.Event) error {
			return os.WriteFile(filepath.Join(os.Getenv("UNITS_OUT"), name), nil, 0o644)
		})
	}
	app.On("resize", core.ObjectTrigger{Bucket: "UNITS_MEDIA_URL"}, mark("resize"))
	app.On("record", core.MessageTrigger{Subscription: "UNITS_QUEUE_URL"}, mark("record"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := awslambda.Run(ctx, []*core.App{app}, nil); err != nil {
		log.Fatal(err)
	}
}

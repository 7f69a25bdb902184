// Command adapterread is rawusers' work (GET /users/{id} read from a bucket
// opened by URL, with the S3 and local drivers linked) written as a polyfn
// app on the AWS adapter, with no gateway policies: the cold-start
// benchmark's measure of what the adapter and core add to the same work
// done on aws-lambda-go alone.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
	_ "github.com/polyfn/polyfn/providers/local" // file://, as every cmd/launch build
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := awslambda.Run(ctx, []*core.App{newApp()}, nil); err != nil {
		log.Fatal(err)
	}
}

func newApp() *core.App {
	var bucket *blob.Bucket
	app := core.NewApp("users")
	app.Require(core.Bucket("USERS_BUCKET_URL"))
	app.OnInit(func(ctx context.Context, env core.Env) (err error) {
		bucket, err = blob.OpenBucket(ctx, env("USERS_BUCKET_URL"))
		return err
	})
	app.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, err := bucket.ReadAll(r.Context(), "users/"+r.PathValue("id")+".json")
		switch {
		case gcerrors.Code(err) == gcerrors.NotFound:
			core.WriteError(w, r, core.Errorf(core.NotFound, "no such user"))
			return
		case err != nil:
			core.WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	return app
}

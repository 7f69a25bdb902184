package core_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/polyfn/polyfn/core"
)

// An app declares HTTP routes as plain net/http handlers and event functions
// with triggers; errors carry codes that map to statuses.
func ExampleApp() {
	app := core.NewApp("greeter")
	app.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "nobody" {
			core.WriteError(w, r, core.Errorf(core.NotFound, "no one called %q", r.PathValue("name")))
			return
		}
		fmt.Fprintf(w, "hello, %s", r.PathValue("name"))
	})
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/"},
		core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			fmt.Printf("%s: %s (%d bytes)\n", e.Kind(), e.Object.Key, e.Object.Size)
			return nil
		}))

	for _, path := range []string{"/hello/ada", "/hello/nobody"} {
		rec := httptest.NewRecorder()
		app.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}

	fn, _ := app.EventFunc("on-upload")
	e, _ := core.NewEvent(core.TypeObjectCreated, "evt-1", "//storage/media", &core.Object{Bucket: "media", Key: "uploads/cat.png", Size: 1234})
	_ = core.Invoke(context.Background(), fn.Handler, e)
	// Output:
	// 200 text/plain; charset=utf-8
	// 404 application/problem+json
	// object_created: uploads/cat.png (1234 bytes)
}

// ProcessBatch hands each event to the handler and returns exactly the
// failed ones, for the adapter to report as a partial batch failure.
func ExampleProcessBatch() {
	var batch []core.Event
	for _, body := range []string{`{"id":1}`, `not json`, `{"id":3}`} {
		id := fmt.Sprintf("m%d", len(batch)+1)
		e, _ := core.NewEvent(core.TypeMessage, id, "//queue/orders", &core.Message{ID: id, Body: []byte(body)})
		batch = append(batch, e)
	}
	h := core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		if e.Message.Body[0] != '{' {
			return core.Errorf(core.InvalidArgument, "message %s is not JSON", e.ID())
		}
		return nil
	})
	for _, f := range core.ProcessBatch(context.Background(), h, batch, nil) {
		fmt.Println(f.ID, core.CodeOf(f.Err))
	}
	// Output:
	// m2 invalid-argument
}

// An app declares how it uses each resource, for the deployment to grant
// that and no more, and the sizing of its HTTP routes and of each event
// function; a zero field is its default.
func ExampleApp_Size() {
	app := core.NewApp("media")
	app.Require(core.Bucket("MEDIA_BUCKET_URL", core.Read, core.Write), core.Topic("READY_TOPIC_URL"))
	app.Size(core.Sizing{MemoryMiB: 256, Timeout: 10 * time.Second})
	app.On("resize", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	app.SizeFunc("resize", core.Sizing{MemoryMiB: 1024, Timeout: time.Minute})

	for _, r := range app.Resources() {
		fmt.Println(r.Env, r.Kind, r.Use)
	}
	routes, _ := app.Sizing().Resolve()
	fn, _ := app.EventFunc("resize")
	resize, _ := fn.Sizing.Resolve()
	fmt.Println("routes:", routes.MemoryMiB, "MiB,", routes.Timeout, "each")
	fmt.Println("resize:", resize.MemoryMiB, "MiB,", resize.Timeout, "each")
	// Output:
	// MEDIA_BUCKET_URL bucket read-write
	// READY_TOPIC_URL topic publish
	// routes: 256 MiB, 10s each
	// resize: 1024 MiB, 1m0s each
}

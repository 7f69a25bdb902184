// Command triggerapp is the function app the azurefunctions tests run as a
// real custom handler (built with -tags azure): an echo route, a binary
// route, and one event function of every trigger kind. Each event function
// logs the neutral event it received as JSON, which the tests read back from
// the reply's Logs, and fails with the code an event asks for: a message body,
// object key, document id or record data of "fail:<code>" (core.Code.String()), or panics
// on "panic".
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/core"
)

func main() {
	app := core.NewApp("triggers")
	app.HandleFunc("/echo/{rest...}", echo)
	app.HandleFunc("GET /binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for i := range 256 {
			_, _ = w.Write([]byte{byte(i)})
		}
	})
	app.HandleFunc("GET /cookies", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.WriteHeader(http.StatusAccepted)
	})
	h := core.HandlerFunc(record)
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/"}, h)
	app.On("on-blob-event", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, h)
	app.On("on-queue", core.MessageTrigger{Subscription: "JOBS_SUBSCRIPTION_URL"}, h)
	app.On("on-bus", core.MessageTrigger{Subscription: "BUS_SUBSCRIPTION_URL", Ordered: true}, h)
	app.On("on-change", core.ChangeTrigger{Source: "ITEMS_CONTAINER"}, h)
	app.On("on-timer", core.TimerTrigger{Schedule: "*/5 * * * *"}, h)
	app.On("on-stream", core.StreamTrigger{Stream: "CLICKS_STREAM_URL"}, h)
	launch.Start(app)
}

// Echo is what /echo/{rest...} answers, as JSON.
type Echo struct {
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	RawPath    string              `json:"escaped_path"`
	Rest       string              `json:"rest"`
	RawQuery   string              `json:"raw_query"`
	Query      map[string][]string `json:"query"`
	Header     http.Header         `json:"header"`
	Host       string              `json:"host"`
	Body       []byte              `json:"body"`
	Invocation *core.Invocation    `json:"invocation"`
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		core.WriteError(w, r, core.Errorf(core.InvalidArgument, "reading the body: %w", err))
		return
	}
	inv, _ := core.InvocationFrom(r.Context())
	slog.InfoContext(r.Context(), "echo", slog.String("path", r.URL.Path))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Echo{
		Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Rest: r.PathValue("rest"), RawQuery: r.URL.RawQuery,
		Query: r.URL.Query(), Header: r.Header, Host: r.Host, Body: body, Invocation: inv,
	})
}

// Record is the log line record writes for each event.
type Record struct {
	Event      core.Event      `json:"event"`
	Invocation core.Invocation `json:"invocation"`
}

func record(ctx context.Context, e core.Event) error {
	inv, _ := core.InvocationFrom(ctx)
	b, err := json.Marshal(Record{Event: e, Invocation: *inv})
	if err != nil {
		return core.Errorf(core.Internal, "encoding the event: %w", err)
	}
	slog.InfoContext(ctx, "event", slog.String("record", string(b)))
	return outcome(marker(e))
}

// marker is the part of an event that asks for a failure.
func marker(e core.Event) string {
	switch {
	case e.Message != nil:
		return string(e.Message.Body)
	case e.Object != nil:
		return e.Object.Key[strings.LastIndex(e.Object.Key, "/")+1:]
	case e.Change != nil:
		return e.Change.ID
	case e.Record != nil:
		return string(e.Record.Data)
	}
	return ""
}

func outcome(marker string) error {
	if marker == "panic" {
		panic("triggerapp: asked to panic")
	}
	name, ok := strings.CutPrefix(marker, "fail:")
	if !ok {
		return nil
	}
	for _, c := range core.Codes() {
		if c.String() == name {
			return core.Errorf(c, "triggerapp: asked to fail with %s", name)
		}
	}
	return fmt.Errorf("triggerapp: asked to fail with the unknown code %q", name)
}

//go:build unix

package gcpfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
)

// sink keeps the benchmarks' handlers from being optimized away.
var sink int

// BenchmarkCloudEvent compares the adapter's path for a binary-mode Pub/Sub
// CloudEvent (the request read in place → neutral core.Event → handler,
// with invocation metadata and the status table) with a plain
// functions.CloudEvent function that decodes the same event itself behind
// the CloudEvents SDK's HTTP receive handler, as the framework serves it.
// Compare with
//
//	go test -run='^$' -bench='^BenchmarkCloudEvent$' -count=10 ./adapters/gcpfunctions > ce.txt
//	go tool benchstat -col /path ce.txt
//
// Besides wall time, each benchmark reports cpu-ns/op, the process's CPU time
// per operation, which a busy machine disturbs less.
func BenchmarkCloudEvent(b *testing.B) {
	body := readTestdata(b, "pubsub", "full.json")
	app := core.NewApp("bench")
	app.On("record", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(_ context.Context, e core.Event) error {
		sink += len(e.Message.Body) + len(e.Message.Attributes)
		return nil
	}))
	r := &Registration{apps: []*core.App{app}}
	if err := r.build(); err != nil {
		b.Fatal(err)
	}
	paths := []struct {
		name string
		h    http.Handler
	}{
		{"adapter", serveCloudEvent(b, r.entryPoints[0].http)},
		{"raw", receiveHandler(b, rawPubSubFunction)},
	}
	for _, p := range paths {
		b.Run("path="+p.name, func(b *testing.B) {
			h := p.h
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, binaryRequest(typeMessagePublished, topicSource, "2070443601311540", "application/json", body))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkCloudEventFunction is BenchmarkCloudEvent without the HTTP
// receive path: each function is called with the decoded CloudEvent, which
// shows the adapter's own cost apart from the SDK's.
func BenchmarkCloudEventFunction(b *testing.B) {
	ce := testEvent(b, typeMessagePublished, topicSource, "", "application/json", readTestdata(b, "pubsub", "full.json"))
	app := core.NewApp("bench")
	app.On("record", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(_ context.Context, e core.Event) error {
		sink += len(e.Message.Body) + len(e.Message.Attributes)
		return nil
	}))
	r := &Registration{apps: []*core.App{app}}
	if err := r.build(); err != nil {
		b.Fatal(err)
	}
	fn := app.EventFuncs()[0]
	adapter := func(ctx context.Context, ce event.Event) error {
		if status, reason := r.deliverCloudEvent(ctx, nil, &ce, fn); status != http.StatusOK {
			return errors.New(reason)
		}
		return nil
	}
	for _, p := range []struct {
		name string
		fn   func(context.Context, event.Event) error
	}{{"adapter", adapter}, {"raw", rawPubSubFunction}} {
		b.Run("path="+p.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				if err := p.fn(ctx, *ce); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// receiveHandler serves a functions.CloudEvent function as the framework
// does: behind the CloudEvents SDK's HTTP receive handler.
func receiveHandler(b *testing.B, fn func(context.Context, event.Event) error) http.Handler {
	p, err := cloudevents.NewHTTP()
	if err != nil {
		b.Fatal(err)
	}
	h, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, fn)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// rawPubSubFunction is what a function written directly against the
// framework does with the same event.
func rawPubSubFunction(_ context.Context, ce event.Event) error {
	var d struct {
		Message struct {
			Data        []byte            `json:"data"`
			Attributes  map[string]string `json:"attributes"`
			MessageID   string            `json:"messageId"`
			PublishTime time.Time         `json:"publishTime"`
		} `json:"message"`
		Subscription string `json:"subscription"`
	}
	if err := json.Unmarshal(ce.Data(), &d); err != nil {
		return err
	}
	sink += len(d.Message.Data) + len(d.Message.Attributes)
	return nil
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

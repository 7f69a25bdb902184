package local_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/timeout"
)

// deadlines records the deadline each invocation's context carried.
type deadlines struct {
	mu  sync.Mutex
	got map[string]time.Time // by route or function
	inv map[string]time.Time // Invocation.Deadline, likewise
}

func (d *deadlines) record(name string, ctx context.Context) {
	dl, ok := ctx.Deadline()
	inv, _ := core.InvocationFrom(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if ok {
		d.got[name] = dl
	}
	if inv != nil {
		d.inv[name] = inv.Deadline
	}
}

func (d *deadlines) of(name string) (ctx, inv time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got[name], d.inv[name]
}

// TestDeadlineIsTheUnitsTimeout: an HTTP request's context carries the
// app's declared timeout, an event's its own function's (not the app's),
// and a function not sized the default 30 s.
func TestDeadlineIsTheUnitsTimeout(t *testing.T) {
	d := &deadlines{got: map[string]time.Time{}, inv: map[string]time.Time{}}
	app := core.NewApp("sized")
	app.Size(core.Sizing{Timeout: 10 * time.Second})
	app.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) {
		d.record("http", r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	for _, fn := range []string{"long", "unsized"} {
		app.On(fn, core.ChangeTrigger{Source: "TABLE_" + strings.ToUpper(fn)}, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			d.record(fn, ctx)
			return nil
		}))
	}
	app.SizeFunc("long", core.Sizing{Timeout: 2 * time.Minute})
	rt := start(t, nil, app)

	for _, tc := range []struct {
		name    string
		send    func() (*http.Response, error)
		timeout time.Duration
	}{
		{"http", func() (*http.Response, error) { return http.Get(rt.URL() + "/deadline") }, 10 * time.Second},
		{"long", func() (*http.Response, error) { return postEvent(rt.URL(), "long") }, 2 * time.Minute},
		{"unsized", func() (*http.Response, error) { return postEvent(rt.URL(), "unsized") }, core.DefaultTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			resp, err := tc.send()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			after := time.Now()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.StatusCode)
			}
			got, inv := d.of(tc.name)
			if got.Before(before.Add(tc.timeout)) || got.After(after.Add(tc.timeout)) {
				t.Errorf("deadline %v from the request's start, want %v", got.Sub(before), tc.timeout)
			}
			if !inv.Equal(got) {
				t.Errorf("Invocation.Deadline %v, want the context's %v", inv, got)
			}
		})
	}
}

func postEvent(base, fn string) (*http.Response, error) {
	e, err := core.NewEvent(core.TypeChange, "c1", "//db/t", &core.Change{Op: core.OpInsert, Key: json.RawMessage(`{"id":"1"}`)})
	if err != nil {
		return nil, err
	}
	b, err := e.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return http.Post(base+"/_polyfn/events/"+fn, "application/cloudevents+json", strings.NewReader(string(b)))
}

// TestHTTPOverrunIs504: a request that outlives its app's declared timeout
// is answered 504 by the timeout middleware, before the deadline.
func TestHTTPOverrunIs504(t *testing.T) {
	t.Parallel()
	app := core.NewApp("slow")
	app.Size(core.Sizing{Timeout: time.Second})
	app.Use(timeout.Middleware(timeout.Options{}))
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // ignores the deadline until its context ends
		w.WriteHeader(http.StatusOK)
	})
	rt := start(t, nil, app)
	resp, err := http.Get(rt.URL() + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p core.Problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusGatewayTimeout ||
		p.Type != core.ProblemTypePrefix+core.DeadlineExceeded.String() {
		t.Errorf("GET /slow = %d %s, want a deadline-exceeded 504", resp.StatusCode, body)
	}
}

// TestEventOverrunIsRetried: a delivery that returns after its function's
// deadline failed with DeadlineExceeded, even when it returned nil, and is
// redelivered per the table.
func TestEventOverrunIsRetried(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	topicURL := uniq("mem://slow-")
	app := messageApp(rec, nil, false)
	overran := make(chan error, 1)
	app.UseEvents(func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			if e.Message.DeliveryCount == 1 {
				<-ctx.Done() // the first delivery overruns, then claims success
				overran <- ctx.Err()
			}
			return next.HandleEvent(ctx, e)
		})
	})
	app.SizeFunc("consume", core.Sizing{Timeout: time.Second})
	rt := start(t, map[string]string{"JOBS_TOPIC_URL": topicURL}, app)
	topic, err := pubsub.OpenTopic(t.Context(), topicURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := topic.Send(t.Context(), &pubsub.Message{Body: []byte("slow")}); err != nil {
		t.Fatal(err)
	}
	if first := rec.next(t, 10*time.Second); first.Message.DeliveryCount != 1 {
		t.Fatalf("first delivery %d", first.Message.DeliveryCount)
	}
	if err := <-overran; err != context.DeadlineExceeded {
		t.Errorf("the overrunning delivery's context ended with %v, want DeadlineExceeded", err)
	}
	if again := rec.next(t, 10*time.Second); again.Message.DeliveryCount != 2 {
		t.Errorf("redelivery %d, want 2", again.Message.DeliveryCount)
	}
	rec.none(t, 300*time.Millisecond)
	if n := rt.DeadLetters(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}

package awslambda

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

// received is what the functions of a decodeApp were called with.
type received struct {
	mu      sync.Mutex
	inv     *core.Invocation
	request *http.Request
	body    []byte
	events  []core.Event
}

func (rc *received) invocation(ctx context.Context) {
	if inv, ok := core.InvocationFrom(ctx); ok {
		c := *inv
		c.ColdStart = false
		rc.inv = &c
	}
}

// decodeApp has a route that takes every request and a function of each
// event kind naming no resource, so that every event reaches one.
func decodeApp(rc *received) *core.App {
	app := core.NewApp("decode")
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.invocation(r.Context())
		rc.request = r
		rc.body, _ = io.ReadAll(r.Body)
	})
	record := core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.invocation(ctx)
		rc.events = append(rc.events, e)
		return nil
	})
	app.On("objects", core.ObjectTrigger{Bucket: "B", Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, record)
	app.On("messages", core.MessageTrigger{Subscription: "S"}, record)
	app.On("changes", core.ChangeTrigger{Source: "T"}, record)
	app.On("timers", core.TimerTrigger{Schedule: "@hourly"}, record)
	return app
}

// eventJSON is an event in its JSON form, envelope, extensions and typed
// data, for comparing.
func eventJSON(t *testing.T, evs []core.Event) []string {
	t.Helper()
	out := make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// TestDecodeIsInvoke: for every payload of the testdata, Decode returns
// exactly what Invoke hands the app, request or events, in the same
// invocation metadata.
func TestDecodeIsInvoke(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var rc received
			h, err := New([]*core.App{decodeApp(&rc)}, &Options{Env: func(string) string { return "" }, Logger: discardLogger})
			if err != nil {
				t.Fatal(err)
			}
			// Sooner than the units' timeouts, so that both read Lambda's.
			ctx := lambdaContext(t, time.Now().Add(10*time.Second))
			d, err := h.Decode(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Invoke(ctx, payload); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rc.inv, &d.Invocation); diff != "" {
				t.Errorf("invocation (-invoked +decoded):\n%s", diff)
			}
			if d.Request == nil {
				if diff := cmp.Diff(eventJSON(t, rc.events), eventJSON(t, d.Events)); diff != "" {
					t.Errorf("events (-invoked +decoded):\n%s", diff)
				}
				return
			}
			body, _ := io.ReadAll(d.Request.Body)
			got, want := d.Request, rc.request
			if got.Method != want.Method || got.URL.String() != want.URL.String() || got.Host != want.Host ||
				got.RemoteAddr != want.RemoteAddr || got.RequestURI != want.RequestURI || string(body) != string(rc.body) ||
				!cmp.Equal(got.Header, want.Header) {
				t.Errorf("decoded %s %s %v %q, invoked %s %s %v %q", got.Method, got.URL, got.Header, body,
					want.Method, want.URL, want.Header, rc.body)
			}
			if strings.HasPrefix(filepath.Base(file), "apigw") && d.RequestID == "" {
				t.Error("no API Gateway request id")
			}
		})
	}
}

func TestRuntimeContext(t *testing.T) {
	h := http.Header{}
	h.Set(HeaderRequestID, "r-1")
	h.Set(HeaderDeadline, "1795402830000")
	h.Set(HeaderTraceID, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
	h.Set(HeaderClientContext, `{"custom":{"k":"v"}}`)
	ctx, cancel, err := RuntimeContext(t.Context(), h)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	handler, _ := newTestHandler(t)
	inv := handler.invocationOf(ctx)
	if inv.ID != "r-1" || !inv.Deadline.Equal(time.UnixMilli(1795402830000).Add(-defaultReplyMargin)) ||
		inv.Trace.TraceID != "1-5759e988-bd862e3fe1be46a994272793" {
		t.Errorf("invocation %+v", inv)
	}
	for _, bad := range []struct{ name, value string }{{HeaderDeadline, "soon"}, {HeaderClientContext, "{"}, {HeaderCognito, "["}} {
		h := http.Header{}
		h.Set(bad.name, bad.value)
		if _, _, err := RuntimeContext(t.Context(), h); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("%s %q: error %v", bad.name, bad.value, err)
		}
	}
	ctx, cancel, err = RuntimeContext(t.Context(), http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a deadline without the header")
	}
}

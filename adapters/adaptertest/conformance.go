package adaptertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

// RunConformanceTests runs every case against the adapter newHarness makes.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Run("HTTP", func(t *testing.T) { testHTTP(t, newHarness(t)) })
	t.Run("Events", func(t *testing.T) { testEvents(t, newHarness(t)) })
}

// conformanceApp is the function every case runs: HTTP routes that echo and
// misbehave on request, and an event function per kind that records what
// it receives.
type conformanceApp struct {
	*core.App
	mu     sync.Mutex
	got    map[string][]core.Event // by function
	trace  []string
	panics bool
}

func newConformanceApp() *conformanceApp {
	c := &conformanceApp{App: core.NewApp("conformance"), got: map[string][]core.Event{}}
	c.Use(c.httpMark("outer"), c.httpMark("inner"))
	c.UseEvents(c.eventMark("outer"), c.eventMark("inner"))
	c.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			core.WriteError(w, r, core.Errorf(core.InvalidArgument, "body: %v", err))
			return
		}
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	})
	c.HandleFunc("GET /inspect/{id}/items/{item}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": r.PathValue("id"), "item": r.PathValue("item"),
			"multi": r.Header.Values("X-Multi"), "q": r.URL.Query()["q"], "single": r.Header.Get("X-Single"),
		})
	})
	c.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	c.HandleFunc("GET /error/{code}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("code"))
		core.WriteError(w, r, core.Errorf(core.Code(n), "secret internal detail %d", n))
	})
	c.HandleFunc("GET /cookies", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Path: "/"})
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.WriteHeader(http.StatusNoContent)
	})
	c.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("secret internal state") })
	c.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Deadline()
		fmt.Fprint(w, ok)
	})
	record := func(name string) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			c.mu.Lock()
			c.got[name] = append(c.got[name], e)
			c.mu.Unlock()
			if e.Message != nil {
				switch string(e.Message.Body) {
				case "malformed":
					return core.Errorf(core.InvalidArgument, "malformed message")
				case "panic":
					panic("secret internal state")
				}
			}
			return nil
		})
	}
	c.On("objects", ObjectTrigger, record("objects"))
	c.On("messages", MessageTrigger, record("messages"))
	c.On("changes", ChangeTrigger, record("changes"))
	c.On("timer", TimerTrigger, record("timer"))
	return c
}

// The triggers of the conformance app, for harnesses that map them.
var (
	ObjectTrigger  = core.ObjectTrigger{Bucket: "CONFORMANCE_BUCKET_URL", Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}
	MessageTrigger = core.MessageTrigger{Subscription: "CONFORMANCE_SUBSCRIPTION_URL"}
	ChangeTrigger  = core.ChangeTrigger{Source: "CONFORMANCE_TABLE"}
	TimerTrigger   = core.TimerTrigger{Schedule: "0 3 * * *"}
)

func (c *conformanceApp) httpMark(name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.mark("http:" + name)
			next.ServeHTTP(w, r)
		})
	}
}

func (c *conformanceApp) eventMark(name string) core.Middleware {
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			c.mark("event:" + name)
			return next.HandleEvent(ctx, e)
		})
	}
}

func (c *conformanceApp) mark(s string) {
	c.mu.Lock()
	c.trace = append(c.trace, s)
	c.mu.Unlock()
}

func (c *conformanceApp) events(fn string) []core.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got[fn])
}

func skipUnless(t *testing.T, h Harness, c Capability) {
	t.Helper()
	if ok, why := h.Can(c); !ok {
		t.Skipf("%s cannot express %s: %s", h.Name(), c, why)
	}
}

func do(t *testing.T, cl Client, method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://function"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := cl.Do(t.Context(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func testHTTP(t *testing.T, h Harness) {
	app := newConformanceApp()
	cl := h.Start(t, app.App, nil)

	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	bodies := []struct {
		name, ct string
		body     []byte
		needs    Capability
	}{
		{"utf-8", "text/plain; charset=utf-8", []byte("héllo wörld ✓ 世界\n"), ""},
		{"json", "application/json", []byte(`{"n":9007199254740993,"s":"\u00e9"}`), ""},
		{"empty", "text/plain", nil, ""},
		{"binary", "application/octet-stream", allBytes, BinaryResponses},
		{"5 MB", "application/octet-stream", bytes.Repeat(allBytes, 5<<20/256), LargeBodies},
	}
	for _, b := range bodies {
		t.Run("body/"+b.name, func(t *testing.T) {
			if b.needs != "" {
				skipUnless(t, h, b.needs)
			}
			resp, got := do(t, cl, "POST", "/echo", b.body, http.Header{"Content-Type": {b.ct}})
			if resp.StatusCode != 200 || !bytes.Equal(got, b.body) {
				t.Errorf("echo: %d, %d bytes back of %d sent (equal %v)", resp.StatusCode, len(got), len(b.body), bytes.Equal(got, b.body))
			}
		})
	}
	t.Run("repeated headers, query and route parameters", func(t *testing.T) {
		resp, body := do(t, cl, "GET", "/inspect/a%20b/items/7?q=1&q=2&q=c%20d", nil, http.Header{"X-Multi": {"one", "two"}, "X-Single": {"s"}})
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		want := map[string]any{"id": "a b", "item": "7", "multi": []any{"one", "two"}, "q": []any{"1", "2", "c d"}, "single": "s"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("request as the function saw it (-want +got):\n%s", diff)
		}
	})
	t.Run("status codes", func(t *testing.T) {
		for _, code := range []int{200, 201, 202, 204, 301, 400, 404, 409, 418, 500, 503} {
			if resp, _ := do(t, cl, "GET", fmt.Sprintf("/status/%d", code), nil, nil); resp.StatusCode != code {
				t.Errorf("status %d arrived as %d", code, resp.StatusCode)
			}
		}
	})
	t.Run("cookies and repeated response headers", func(t *testing.T) {
		resp, _ := do(t, cl, "GET", "/cookies", nil, nil)
		var names []string
		for _, c := range resp.Cookies() {
			names = append(names, c.Name+"="+c.Value)
		}
		if got := strings.Join(names, ","); got != "a=1,b=2" {
			t.Errorf("cookies %q, want a=1,b=2", got)
		}
		if ok, _ := h.Can(RepeatedResponseHeaders); ok {
			if got := resp.Header.Values("X-Multi"); !slices.Equal(got, []string{"x", "y"}) {
				t.Errorf("X-Multi = %q, want [x y]", got)
			}
		}
	})
	t.Run("error codes", func(t *testing.T) {
		for _, code := range core.Codes() {
			resp, body := do(t, cl, "GET", fmt.Sprintf("/error/%d", int(code)), nil, nil)
			if resp.StatusCode != core.HTTPStatus(code) {
				t.Errorf("%v: status %d, want %d", code, resp.StatusCode, core.HTTPStatus(code))
			}
			if leaked := strings.Contains(string(body), "secret internal"); leaked != code.ShowsDetail() {
				t.Errorf("%v: the error text reached the client: %v, want %v: %s", code, leaked, code.ShowsDetail(), body)
			}
		}
	})
	t.Run("panic", func(t *testing.T) {
		resp, body := do(t, cl, "GET", "/panic", nil, nil)
		if resp.StatusCode != 500 || strings.Contains(string(body), "secret") {
			t.Errorf("panic: %d %s, want a generic 500", resp.StatusCode, body)
		}
		if resp, _ := do(t, cl, "GET", "/status/204", nil, nil); resp.StatusCode != 204 {
			t.Errorf("after a panic: %d, want the next request served", resp.StatusCode)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		skipUnless(t, h, Deadline)
		if _, body := do(t, cl, "GET", "/deadline", nil, nil); string(body) != "true" {
			t.Errorf("the request context has no deadline")
		}
	})
	t.Run("middleware order", func(t *testing.T) {
		app.mu.Lock()
		app.trace = nil
		app.mu.Unlock()
		do(t, cl, "GET", "/status/204", nil, nil)
		app.mu.Lock()
		defer app.mu.Unlock()
		if got := strings.Join(app.trace, ","); got != "http:outer,http:inner" {
			t.Errorf("middleware ran %q, want outer then inner", got)
		}
	})
}

var when = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// Events returns one neutral event of each kind, as every harness must
// deliver them, keyed by the conformance app's function names.
func Events() map[string]core.Event {
	mk := func(typ, id, source, subject string, data any) core.Event {
		e, err := core.NewEvent(typ, id, source, data)
		if err != nil {
			panic(err)
		}
		e.SetSubject(subject)
		e.SetTime(when)
		return e
	}
	return map[string]core.Event{
		"objects": mk(core.TypeObjectCreated, "obj-1", "conformance-bucket", "uploads/red flower+1 ü.png",
			&core.Object{Bucket: "conformance-bucket", Key: "uploads/red flower+1 ü.png", Size: 5 << 30, ContentType: "image/png", ETag: "d41d8cd98f00b204e9800998ecf8427e"}),
		"messages": mk(core.TypeMessage, "msg-1", "conformance-queue", "",
			&core.Message{ID: "msg-1", Body: []byte("{\"id\":\"o-1\"}"), Attributes: map[string]string{"kind": "order"}}),
		"changes": mk(core.TypeChange, "chg-1", "conformance-table", "users/u1",
			&core.Change{Op: core.OpModify, Key: json.RawMessage(`{"id":"u1"}`), New: json.RawMessage(`{"id":"u1","n":9007199254740993}`), Old: json.RawMessage(`{"id":"u1","n":1}`)}),
		"timer": mk(core.TypeTimer, "tmr-1", "conformance-schedule", "",
			&core.Timer{Name: "timer", ScheduledTime: when}),
	}
}

func testEvents(t *testing.T, h Harness) {
	app := newConformanceApp()
	cl := h.Start(t, app.App, nil)
	for fn, e := range Events() {
		t.Run("kind/"+string(e.Kind()), func(t *testing.T) {
			out, err := cl.Deliver(t.Context(), fn, []core.Event{e})
			if err != nil || len(out.Failed) != 0 {
				t.Fatalf("Deliver: %+v, %v", out, err)
			}
			got := app.events(fn)
			if len(got) != 1 {
				t.Fatalf("%d events arrived, want 1", len(got))
			}
			g := got[0]
			if g.ID() != e.ID() || g.Type() != e.Type() || g.Kind() != e.Kind() {
				t.Errorf("envelope: id %q type %q, want %q %q", g.ID(), g.Type(), e.ID(), e.Type())
			}
			if diff := cmp.Diff(typed(e), typed(g)); diff != "" {
				t.Errorf("typed data (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("batch: exactly the failed items", func(t *testing.T) {
		var batch []core.Event
		for i, body := range []string{"ok-0", "malformed", "ok-2", "panic", "ok-4"} {
			id := fmt.Sprintf("batch-%d", i)
			e, _ := core.NewEvent(core.TypeMessage, id, "conformance-queue", &core.Message{ID: id, Body: []byte(body)})
			batch = append(batch, e)
		}
		out, err := cl.Deliver(t.Context(), "messages", batch)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"batch-1", "batch-3"}
		if ok, _ := h.Can(PartialBatchFailure); !ok {
			want = []string{"batch-0", "batch-1", "batch-2", "batch-3", "batch-4"}
		}
		if !slices.Equal(out.Failed, want) || !out.Retried {
			t.Errorf("outcome %+v, want failed %v and a retry", out, want)
		}
		// The process survived the panic: the next delivery works.
		ok, _ := core.NewEvent(core.TypeMessage, "after", "conformance-queue", &core.Message{ID: "after", Body: []byte("ok")})
		if out, err := cl.Deliver(t.Context(), "messages", []core.Event{ok}); err != nil || len(out.Failed) != 0 {
			t.Errorf("after a panic: %+v, %v", out, err)
		}
	})
	t.Run("middleware order", func(t *testing.T) {
		app.mu.Lock()
		app.trace = nil
		app.mu.Unlock()
		e := Events()["timer"]
		if _, err := cl.Deliver(t.Context(), "timer", []core.Event{e}); err != nil {
			t.Fatal(err)
		}
		app.mu.Lock()
		defer app.mu.Unlock()
		if got := strings.Join(app.trace, ","); got != "event:outer,event:inner" {
			t.Errorf("middleware ran %q, want outer then inner", got)
		}
	})
}

func typed(e core.Event) any {
	switch {
	case e.Object != nil:
		return e.Object
	case e.Message != nil:
		m := *e.Message
		m.DeliveryCount, m.Subscription, m.PublishTime = 0, "", time.Time{} // delivery details differ by platform
		return &m
	case e.Change != nil:
		return e.Change
	case e.Timer != nil:
		return e.Timer
	}
	return nil
}

package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyfn/polyfn/core"
)

// conformanceApp is the function every case runs: HTTP routes that echo,
// report and misbehave on request, and an event function per trigger that
// records what it receives and fails as the event asks.
type conformanceApp struct {
	*core.App
	mu    sync.Mutex
	got   map[string][]received // by function
	trace []string
	// waiting and waited report on GET /wait: the request started; its
	// context ended (with its error) or 10 seconds passed (nil).
	waiting chan struct{}
	waited  chan error
	// release tells GET /stream that the client read its first line.
	release chan struct{}
}

// received is one event as an event function received it.
type received struct {
	event core.Event
	// inv is the invocation metadata in the handler's context, if any.
	inv *core.Invocation
	// deadline is the context's deadline, if it has one; at is when the
	// handler was called.
	deadline    time.Time
	hasDeadline bool
	at          time.Time
}

// The secret texts that the app's errors and panics carry: none may reach a
// client or platform, except the text of client errors.
const (
	secretDetail = "secret internal detail"
	secretPanic  = "secret internal state"
)

func newConformanceApp() *conformanceApp {
	c := &conformanceApp{
		App:     core.NewApp("conformance"),
		got:     map[string][]received{},
		waiting: make(chan struct{}, 1),
		waited:  make(chan error, 1),
		release: make(chan struct{}),
	}
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
		var cookies []string
		for _, c := range r.Cookies() {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": r.PathValue("id"), "item": r.PathValue("item"), "cookies": cookies,
			"multi": r.Header.Values("X-Multi"), "single": r.Header.Get("X-Single"),
			"q": r.URL.Query()["q"], "one": r.URL.Query()["one"],
		})
	})
	c.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	c.HandleFunc("GET /error/{code}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("code"))
		core.WriteError(w, r, core.Errorf(core.Code(n), "%s %d", secretDetail, n))
	})
	c.HandleFunc("GET /cookies", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Path: "/"})
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.WriteHeader(http.StatusNoContent)
	})
	c.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic(secretPanic) })
	c.HandleFunc("GET /invocation", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(describeInvocation(r.Context()))
	})
	c.HandleFunc("GET /wait", func(w http.ResponseWriter, r *http.Request) {
		select {
		case c.waiting <- struct{}{}:
		default:
		}
		var err error
		select {
		case <-r.Context().Done():
			err = r.Context().Err()
		case <-time.After(10 * time.Second):
		}
		select {
		case c.waited <- err:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c.HandleFunc("GET /stream", c.handleStream)
	c.On("objects", ObjectTrigger, c.record("objects"))
	c.On("messages", MessageTrigger, c.record("messages"))
	c.On("changes", ChangeTrigger, c.record("changes"))
	c.On("timer", TimerTrigger, c.record("timer"))
	// Each unit's timeout differs from the others and from the default, so
	// that the deadline cases can tell whose a deadline is.
	c.Size(core.Sizing{Timeout: HTTPTimeout})
	c.SizeFunc("timer", core.Sizing{Timeout: TimerTimeout})
	return c
}

// The declared timeouts of the conformance app's units: its HTTP routes,
// and its timer function (its other event functions have the default, 30 s).
// A harness whose platform has a timeout of its own gives the app more, or
// the deadline cases see the platform's.
const (
	HTTPTimeout  = 10 * time.Second
	TimerTimeout = 20 * time.Second
)

// The triggers of the conformance app, for harnesses that map them.
var (
	ObjectTrigger  = core.ObjectTrigger{Bucket: "CONFORMANCE_BUCKET_URL", Events: core.ObjectKinds}
	MessageTrigger = core.MessageTrigger{Subscription: "CONFORMANCE_SUBSCRIPTION_URL"}
	ChangeTrigger  = core.ChangeTrigger{Source: "CONFORMANCE_TABLE"}
	TimerTrigger   = core.TimerTrigger{Schedule: "0 3 * * *"}
)

// invocationInfo is what GET /invocation answers.
type invocationInfo struct {
	Present     bool   `json:"present"`
	ID          string `json:"id"`
	Cloud       string `json:"cloud"`
	Function    string `json:"function"`
	TraceID     string `json:"trace_id"`
	HasDeadline bool   `json:"has_deadline"`
	// RemainingMS is the time to the context's deadline, in milliseconds.
	RemainingMS int64 `json:"remaining_ms"`
}

func describeInvocation(ctx context.Context) invocationInfo {
	var info invocationInfo
	if inv, ok := core.InvocationFrom(ctx); ok {
		info.Present, info.ID, info.Cloud, info.Function, info.TraceID = true, inv.ID, string(inv.Cloud), inv.Function, inv.Trace.TraceID
	}
	if d, ok := ctx.Deadline(); ok {
		info.HasDeadline, info.RemainingMS = true, time.Until(d).Milliseconds()
	}
	return info
}

// record is the handler of event function fn. It fails an event whose
// marker (see markerOf) asks it to: "malformed" with InvalidArgument,
// "fail:<code>" with that code, "panic" with a panic.
func (c *conformanceApp) record(fn string) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		r := received{event: e, at: time.Now()}
		if inv, ok := core.InvocationFrom(ctx); ok {
			cp := *inv
			r.inv = &cp
		}
		r.deadline, r.hasDeadline = ctx.Deadline()
		c.mu.Lock()
		c.got[fn] = append(c.got[fn], r)
		c.mu.Unlock()
		switch m := markerOf(e); {
		case m == "malformed":
			return core.Errorf(core.InvalidArgument, "%s: malformed", secretDetail)
		case m == "panic":
			panic(secretPanic)
		case strings.HasPrefix(m, "fail:"):
			code, ok := codeNamed(strings.TrimPrefix(m, "fail:"))
			if !ok {
				return fmt.Errorf("adaptertest: unknown code in marker %q", m)
			}
			return core.Errorf(code, "%s: asked to fail", secretDetail)
		}
		return nil
	})
}

// markerOf returns what an event asks the app to do: a message's body, the
// last segment of an object's key, the "outcome" member of a change's new
// document, a timer's payload.
func markerOf(e core.Event) string {
	switch {
	case e.Message != nil:
		return string(e.Message.Body)
	case e.Object != nil:
		return path.Base(e.Object.Key)
	case e.Change != nil:
		var doc struct {
			Outcome string `json:"outcome"`
		}
		_ = json.Unmarshal(e.Change.New, &doc)
		return doc.Outcome
	case e.Timer != nil:
		return string(e.Timer.Payload)
	case e.Record != nil:
		return string(e.Record.Data)
	}
	return ""
}

func codeNamed(name string) (core.Code, bool) {
	for _, c := range core.Codes() {
		if c.String() == name {
			return c, true
		}
	}
	return 0, false
}

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

// takeTrace returns and forgets the middleware trace.
func (c *conformanceApp) takeTrace() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.trace
	c.trace = nil
	return t
}

// take returns and forgets what fn received.
func (c *conformanceApp) take(fn string) []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := slices.Clone(c.got[fn])
	delete(c.got, fn)
	return got
}

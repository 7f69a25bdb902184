package gcpfunctions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// TestDeadline: each invocation's context carries its own unit's declared
// timeout (the app's for HTTP, each event function's own, 30 s for one not
// sized), or Cloud Run's request timeout when that is earlier, which the
// framework puts on the request's context from CLOUD_RUN_TIMEOUT_SECONDS.
func TestDeadline(t *testing.T) {
	var mu sync.Mutex
	got := map[string][2]time.Time{} // by unit: the context's deadline, Invocation.Deadline
	record := func(unit string, ctx context.Context) {
		d, _ := ctx.Deadline()
		inv, _ := core.InvocationFrom(ctx)
		mu.Lock()
		got[unit] = [2]time.Time{d, inv.Deadline}
		mu.Unlock()
	}
	app := core.NewApp("sized")
	app.Size(core.Sizing{Timeout: 10 * time.Second})
	app.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) { record("http", r.Context()) })
	for _, fn := range []struct {
		name string
		t    core.Trigger
	}{
		{"messages", core.MessageTrigger{Subscription: "S"}},
		{"unsized", core.MessageTrigger{Subscription: "U"}},
		{"tick", core.TimerTrigger{Schedule: "@hourly"}},
	} {
		app.On(fn.name, fn.t, core.HandlerFunc(func(ctx context.Context, _ core.Event) error {
			record(fn.name, ctx)
			return nil
		}))
	}
	app.SizeFunc("messages", core.Sizing{Timeout: 2 * time.Minute})
	app.SizeFunc("tick", core.Sizing{Timeout: 45 * time.Second})
	r := testRegistration(t, app)

	scheduler := func() *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
		req.Header.Set(schedulerJobHeader, "nightly")
		req.Header.Set(schedulerTimeHeader, "2026-11-22T03:00:00Z")
		return req
	}
	units := []struct {
		name    string
		h       http.Handler
		req     func() *http.Request
		timeout time.Duration
	}{
		{"http", r.entry(t, "sized").http, func() *http.Request { return httptest.NewRequest(http.MethodGet, "/deadline", nil) }, 10 * time.Second},
		{"messages", serveCloudEvent(t, r.entry(t, "messages").http), func() *http.Request { return pubsubRequest("m-1", "eA==") }, 2 * time.Minute},
		{"unsized", serveCloudEvent(t, r.entry(t, "unsized").http), func() *http.Request { return pubsubRequest("m-2", "eA==") }, core.DefaultTimeout},
		{"tick", r.entry(t, "tick").http, scheduler, 45 * time.Second},
	}
	for _, u := range units {
		t.Run(u.name+", declared", func(t *testing.T) {
			before := time.Now()
			w := httptest.NewRecorder()
			u.h.ServeHTTP(w, u.req())
			after := time.Now()
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			mu.Lock()
			d := got[u.name]
			mu.Unlock()
			if d[0].Before(before.Add(u.timeout)) || d[0].After(after.Add(u.timeout)) || !d[1].Equal(d[0]) {
				t.Errorf("deadline %v from the start (Invocation.Deadline %v), want %v", d[0].Sub(before), d[1].Sub(before), u.timeout)
			}
		})
		t.Run(u.name+", Cloud Run's earlier", func(t *testing.T) {
			platform := time.Now().Add(5 * time.Second)
			ctx, cancel := context.WithDeadline(t.Context(), platform)
			defer cancel()
			w := httptest.NewRecorder()
			u.h.ServeHTTP(w, u.req().WithContext(ctx))
			mu.Lock()
			d := got[u.name]
			mu.Unlock()
			if !d[0].Equal(platform) || !d[1].Equal(platform) {
				t.Errorf("deadline %v, Invocation.Deadline %v; want Cloud Run's %v", d[0], d[1], platform)
			}
		})
	}
}

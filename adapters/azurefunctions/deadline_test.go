package azurefunctions_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

// TestDeadline: each invocation's context carries its own function's
// declared timeout (the app's for a route, each event function's own, 30 s
// for one not sized), or host.json's functionTimeout, the one limit of the
// whole function app, when that is earlier.
func TestDeadline(t *testing.T) {
	var mu sync.Mutex
	got := map[string][2]time.Time{} // by function: the context's deadline, Invocation.Deadline
	record := func(fn string, ctx context.Context) {
		d, _ := ctx.Deadline()
		inv, _ := core.InvocationFrom(ctx)
		mu.Lock()
		got[fn] = [2]time.Time{d, inv.Deadline}
		mu.Unlock()
	}
	app := core.NewApp("sized")
	app.Size(core.Sizing{Timeout: 10 * time.Second})
	app.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) { record("http", r.Context()) })
	app.On("message", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(ctx context.Context, _ core.Event) error {
		record("message", ctx)
		return nil
	}))
	app.On("timer", core.TimerTrigger{Schedule: "@hourly"}, core.HandlerFunc(func(ctx context.Context, _ core.Event) error {
		record("timer", ctx)
		return nil
	}))
	app.SizeFunc("message", core.Sizing{Timeout: 2 * time.Minute})

	invocation := func(fn, file string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			body, err := os.ReadFile(filepath.Join("testdata", "invocations", file))
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/"+fn, bytes.NewReader(body))
			r.Header.Set("X-Azure-Functions-InvocationId", "inv-"+fn)
			return r
		}
	}
	proxied := func(*testing.T) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/api/deadline", nil)
		r.Header.Set("X-Ms-Invocation-Id", "inv-http")
		return r
	}
	functions := []struct {
		name     string
		req      func(*testing.T) *http.Request
		declared time.Duration
	}{
		{"http", proxied, 10 * time.Second},
		{"message", invocation("message", "queue-string.json"), 2 * time.Minute},
		{"timer", invocation("timer", "timer-status.json"), core.DefaultTimeout},
	}
	for _, host := range []struct {
		name            string
		functionTimeout time.Duration
	}{{"no functionTimeout", 0}, {"functionTimeout 5m", 5 * time.Minute}, {"functionTimeout 5s", 5 * time.Second}} {
		h, err := azurefunctions.New([]*core.App{app}, &azurefunctions.Options{FunctionTimeout: host.functionTimeout, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		for _, fn := range functions {
			t.Run(host.name+"/"+fn.name, func(t *testing.T) {
				want := fn.declared
				if host.functionTimeout > 0 && host.functionTimeout < want {
					want = host.functionTimeout
				}
				req := fn.req(t)
				before := time.Now()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				after := time.Now()
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				mu.Lock()
				d := got[fn.name]
				mu.Unlock()
				if d[0].Before(before.Add(want)) || d[0].After(after.Add(want)) || !d[1].Equal(d[0]) {
					t.Errorf("deadline %v from the start (Invocation.Deadline %v), want %v", d[0].Sub(before), d[1].Sub(before), want)
				}
			})
		}
	}
}

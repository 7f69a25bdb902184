package local

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// TestEarlierParentDeadlineWins: when what invokes the function already
// has a deadline earlier than the unit's timeout, the invocation keeps it.
func TestEarlierParentDeadlineWins(t *testing.T) {
	rt, err := New(nil, &Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	parentDeadline := time.Now().Add(3 * time.Second)
	parent, cancel := context.WithDeadline(t.Context(), parentDeadline)
	defer cancel()
	long := core.Sizing{Timeout: time.Minute}

	var got, inv time.Time
	record := func(ctx context.Context) {
		got, _ = ctx.Deadline()
		if i, ok := core.InvocationFrom(ctx); ok {
			inv = i.Deadline
		}
	}
	fn := core.EventFunc{Name: "f", Sizing: &long, Handler: core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		record(ctx)
		return nil
	})}
	e, _ := core.NewEvent(core.TypeTimer, "t1", "polyfn://local/timers/f", &core.Timer{Name: "f"})
	if err := rt.invoke(parent, fn, e, 1); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(parentDeadline) || !inv.Equal(parentDeadline) {
		t.Errorf("event: deadline %v, Invocation.Deadline %v; want the parent's %v", got, inv, parentDeadline)
	}

	got, inv = time.Time{}, time.Time{}
	h := rt.instrument("a", long, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { record(r.Context()) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(parent, "GET", "/", nil))
	if !got.Equal(parentDeadline) || !inv.Equal(parentDeadline) {
		t.Errorf("HTTP: deadline %v, Invocation.Deadline %v; want the parent's %v", got, inv, parentDeadline)
	}
}

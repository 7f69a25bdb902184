package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

type ctxKey string

// recorder is an Observer and Starter that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	handled []core.Handled
	ended   []context.Context
	started int
}

func (r *recorder) StartInvocation(ctx context.Context, inv *core.Invocation) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started++
	return context.WithValue(ctx, ctxKey("span"), "invocation span")
}

func (r *recorder) StartEvent(ctx context.Context, e core.Event) context.Context {
	return context.WithValue(ctx, ctxKey("event"), e.ID())
}

func (r *recorder) Handled(ctx context.Context, h core.Handled) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(ctxKey("event")) == nil {
		h.Kind = "handled without the event's context"
	}
	r.handled = append(r.handled, h)
}

func (r *recorder) Batch(ctx context.Context, size, failed int) {}

func (r *recorder) Ended(ctx context.Context, inv *core.Invocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, ctx)
}

func observe(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	core.SetObserver(r)
	t.Cleanup(func() { core.SetObserver(nil) })
	return r
}

// TestWithInvocationObserved checks the context an observed invocation
// runs with and the one its end is reported with.
func TestWithInvocationObserved(t *testing.T) {
	r := observe(t)
	parent, cancelParent := context.WithCancel(context.WithValue(t.Context(), ctxKey("parent"), "p"))
	defer cancelParent()
	inv := &core.Invocation{ID: "i-1", Function: "f", Deadline: time.Now().Add(time.Hour)}
	ctx, end := core.WithInvocation(parent, inv)

	if got, ok := core.InvocationFrom(ctx); !ok || got != inv {
		t.Errorf("InvocationFrom = %v, %v; want the invocation", got, ok)
	}
	if ctx.Value(ctxKey("parent")) != "p" || ctx.Value(ctxKey("span")) != "invocation span" {
		t.Error("the invocation's context lost the parent's or the starter's values")
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(inv.Deadline) {
		t.Errorf("Deadline = %v, %v; want the invocation's", d, ok)
	}
	if r.started != 1 {
		t.Errorf("StartInvocation called %d times, want 1", r.started)
	}

	// Ending it from several goroutines reports it once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(end)
	}
	wg.Wait()
	if ctx.Err() == nil {
		t.Error("the invocation's context is not cancelled after its end")
	}
	if len(r.ended) != 1 {
		t.Fatalf("Ended called %d times, want 1", len(r.ended))
	}
	ended := r.ended[0]
	if ended.Err() != nil || ended.Done() != nil || context.Cause(ended) != nil {
		t.Errorf("the context Ended gets is cancelled (Err %v, Cause %v)", ended.Err(), context.Cause(ended))
	}
	c, cancel := context.WithCancel(ended)
	defer cancel()
	if c.Err() != nil {
		t.Error("a context made from the one Ended gets starts cancelled")
	}
	if _, ok := ended.Deadline(); ok {
		t.Error("the context Ended gets has a deadline")
	}
	if got, _ := core.InvocationFrom(ended); got != inv || ended.Value(ctxKey("span")) != "invocation span" || ended.Value(ctxKey("parent")) != "p" {
		t.Error("the context Ended gets lacks the invocation's values")
	}
}

// TestWithInvocationFollowsItsParent checks that cancelling the parent
// cancels an invocation's context, observed or not.
func TestWithInvocationFollowsItsParent(t *testing.T) {
	for _, observed := range []bool{false, true} {
		if observed {
			observe(t)
		}
		parent, cancelParent := context.WithCancelCause(t.Context())
		ctx, end := core.WithInvocation(parent, &core.Invocation{ID: "i"})
		cause := errors.New("platform gone")
		cancelParent(cause)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("observed %v: the invocation's context outlived its parent", observed)
		}
		if !errors.Is(context.Cause(ctx), cause) {
			t.Errorf("observed %v: Cause = %v, want the parent's", observed, context.Cause(ctx))
		}
		end()
	}
}

// TestInvokeObserved checks what Invoke reports: each run with its kind,
// duration and error, a panic as an Internal error, with the context the
// starter gave the event.
func TestInvokeObserved(t *testing.T) {
	r := observe(t)
	ctx, end := core.WithInvocation(t.Context(), &core.Invocation{ID: "i"})
	defer end()
	e, err := core.NewEvent(core.TypeMessage, "m-1", "queue", &core.Message{ID: "m-1", Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	failed := core.Errorf(core.NotFound, "no such order")
	for _, h := range []core.HandlerFunc{
		func(ctx context.Context, e core.Event) error { return nil },
		func(ctx context.Context, e core.Event) error { return failed },
		func(ctx context.Context, e core.Event) error { panic("boom") },
	} {
		_ = core.Invoke(ctx, h, e)
	}
	if len(r.handled) != 3 {
		t.Fatalf("Handled called %d times, want 3", len(r.handled))
	}
	for i, want := range []struct {
		failed bool
		code   core.Code
	}{{false, 0}, {true, core.NotFound}, {true, core.Internal}} {
		h := r.handled[i]
		if h.Kind != e.Kind() || h.Duration <= 0 {
			t.Errorf("run %d: kind %q, duration %v", i, h.Kind, h.Duration)
		}
		if (h.Err != nil) != want.failed || (h.Err != nil && core.CodeOf(h.Err) != want.code) {
			t.Errorf("run %d: error %v, want failed %v with code %v", i, h.Err, want.failed, want.code)
		}
	}
}

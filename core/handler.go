package core

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// Handler handles one neutral event. Returning nil acknowledges the event;
// returning an error fails it, and the adapter's table decides from the
// error's Code what the platform does (retry, report a partial-batch failure,
// dead-letter).
type Handler interface {
	HandleEvent(ctx context.Context, e Event) error
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(ctx context.Context, e Event) error

// HandleEvent calls f(ctx, e).
func (f HandlerFunc) HandleEvent(ctx context.Context, e Event) error { return f(ctx, e) }

// Middleware wraps an event Handler, as func(http.Handler) http.Handler wraps
// an HTTP handler.
type Middleware func(Handler) Handler

// Chain wraps h in mws; the first middleware is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Invoke calls h with e and contains a panic: it is logged with its stack,
// and Invoke returns an Internal error in its place, so the adapter reports a
// failed event and the process keeps serving.
func Invoke(ctx context.Context, h Handler, e Event) error {
	o := currentObserver()
	if o == nil {
		return invoke(ctx, h, e)
	}
	if s, ok := o.(Starter); ok {
		ctx = s.StartEvent(ctx, e)
	}
	start := time.Now()
	err := invoke(ctx, h, e)
	o.Handled(ctx, Handled{Kind: e.Kind(), Duration: time.Since(start), Err: err})
	return err
}

// invoke runs h, turning a panic into an Internal error.
func invoke(ctx context.Context, h Handler, e Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			slog.ErrorContext(ctx, "panic in event handler",
				slog.String("event_id", e.ID()), slog.String("event_type", e.Type()),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			err = Errorf(Internal, "core: event handler panicked")
		}
	}()
	return h.HandleEvent(ctx, e)
}

// BatchOptions tune ProcessBatch.
type BatchOptions struct {
	// Ordered stops at the first failure and reports it and every later
	// event as failed, unattempted, so that the platform redelivers them in
	// order (SQS FIFO, Pub/Sub ordering keys, sessions).
	Ordered bool
}

// Failure is one failed event of a batch.
type Failure struct {
	// Index is the event's position in the batch.
	Index int
	// ID is the event's id.
	ID string
	// Err is why it failed. An event that was not attempted (after an
	// earlier failure in an ordered batch, or after the context ended) has
	// an Aborted error.
	Err error
}

// ProcessBatch hands each event of a batch to h in turn and returns the
// failed ones, in batch order; nil means every event succeeded. One bad event
// never fails the others: adapters report exactly these in the platform's
// partial-failure form. When ctx ends, the events not yet started are
// reported as failed so that they are redelivered, never lost.
func ProcessBatch(ctx context.Context, h Handler, events []Event, opts *BatchOptions) (failures []Failure) {
	ordered := opts != nil && opts.Ordered
	if o := currentObserver(); o != nil {
		defer func() { o.Batch(ctx, len(events), len(failures)) }()
	}
	for i, e := range events {
		if err := ctx.Err(); err != nil {
			return appendUnattempted(failures, events, i, fmt.Errorf("core: not attempted: %w", err))
		}
		err := Invoke(ctx, h, e)
		if err == nil {
			continue
		}
		failures = append(failures, Failure{Index: i, ID: e.ID(), Err: err})
		if ordered {
			return appendUnattempted(failures, events, i+1,
				Errorf(Aborted, "core: not attempted after the failure of event %q in an ordered batch", e.ID()))
		}
	}
	return failures
}

func appendUnattempted(failures []Failure, events []Event, from int, err error) []Failure {
	for j := from; j < len(events); j++ {
		failures = append(failures, Failure{Index: j, ID: events[j].ID(), Err: Wrap(Aborted, err)})
	}
	return failures
}

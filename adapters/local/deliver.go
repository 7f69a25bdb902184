package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyfn/polyfn/core"
)

// byCode is the local runtime's one table from error code to behaviour:
// true means the event is redelivered with backoff until the trigger's
// delivery limit, false means it is dead-lettered at once because the same
// input would fail the same way. Codes not listed are not retried.
var byCode = map[core.Code]bool{
	core.Unknown:           true,
	core.Internal:          true,
	core.Unavailable:       true,
	core.DeadlineExceeded:  true,
	core.Canceled:          true,
	core.Aborted:           true,
	core.ResourceExhausted: true,
}

const defaultMaxDeliveries = 5

// outcome is what became of one delivery of an event.
type outcome int

const (
	delivered outcome = iota
	retry
	deadLettered
)

// decide applies the table to the result of delivery number n (from 1).
func decide(err error, n, max int) outcome {
	switch {
	case err == nil:
		return delivered
	case byCode[core.CodeOf(err)] && n < max:
		return retry
	default:
		return deadLettered
	}
}

func (rt *Runtime) backoff(n int) time.Duration {
	d := rt.opts.RetryBackoff << (n - 1)
	if d <= 0 || d > 30*time.Second {
		d = 30 * time.Second
	}
	return d
}

// invoke runs one delivery of e to fn, within the deadline of fn's
// declared sizing, and logs it. A handler that returns after its deadline
// has failed with DeadlineExceeded, whatever it returned, as on a cloud
// that stops it there: the table retries it.
func (rt *Runtime) invoke(parent context.Context, fn core.EventFunc, e core.Event, n int) error {
	ctx, cancel := rt.invocation(parent, fn.Name, newID(), core.Trace{}, fn.DeclaredSizing())
	defer cancel()
	start := time.Now()
	err := core.Invoke(ctx, fn.Handler, e)
	if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = core.Errorf(core.DeadlineExceeded, "local: %s ran past its deadline", fn.Name)
	}
	attrs := []any{
		slog.String("trigger", string(e.Kind())), slog.String("event_id", e.ID()),
		slog.Int("delivery", n), slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		rt.log.WarnContext(ctx, "event failed", append(attrs,
			slog.String("code", core.CodeOf(err).String()), slog.Any("error", err))...)
	} else {
		rt.log.InfoContext(ctx, "event handled", attrs...)
	}
	return err
}

// dispatch delivers an event that has no broker to redeliver it (object
// events) in the background, counted as in flight: see retryInProcess. An
// event still waiting for a retry when the runtime stops is dead-lettered,
// since nothing else holds it.
func (rt *Runtime) dispatch(fn core.EventFunc, e core.Event) {
	rt.inflight.Add(1)
	go func() {
		defer rt.inflight.Done()
		rt.retryInProcess(fn, e, func(n int, err error) {
			rt.dead.put(rt.log, fn.Name, e, n, fmt.Errorf("local: not retried, runtime stopped: %w", err))
		})
	}()
}

// retryInProcess delivers e to fn until it succeeds, fails for good
// (dead-lettered), or runs out of deliveries (dead-lettered), waiting with
// backoff between deliveries. If the runtime stops during a wait, stopped is
// called with the deliveries so far and the last error.
func (rt *Runtime) retryInProcess(fn core.EventFunc, e core.Event, stopped func(n int, err error)) {
	if done, n, err := rt.retry(rt.intake.Done(), fn, e, nil); !done {
		stopped(n, err)
	}
}

// retry delivers e to fn until the runtime's table (decide) says it is
// done: delivered, or dead-lettered, failed for good or out of deliveries.
// Between deliveries it calls waiting, if not nil, with the deliveries so
// far and the backoff, and waits that long. It returns done false, with
// the deliveries so far and the last error, when stop closes first.
func (rt *Runtime) retry(stop <-chan struct{}, fn core.EventFunc, e core.Event, waiting func(n int, wait time.Duration)) (done bool, n int, err error) {
	for n = 1; ; n++ {
		err = rt.invoke(rt.work, fn, e, n)
		switch decide(err, n, defaultMaxDeliveries) {
		case delivered:
			return true, n, nil
		case deadLettered:
			rt.dead.put(rt.log, fn.Name, e, n, err)
			return true, n, nil
		}
		wait := rt.backoff(n)
		if waiting != nil {
			waiting(n, wait)
		}
		select {
		case <-time.After(wait):
		case <-stop:
			return false, n, err
		}
		select {
		case <-stop: // both were ready: stopping wins
			return false, n, err
		default:
		}
	}
}

// deadLetters keeps events that failed for good as JSON files under
// <data>/dead-letters/<function>/, so nothing the runtime accepted is lost
// silently; they can be inspected and replayed through /_polyfn/events.
type deadLetters struct {
	dir   string
	mu    sync.Mutex
	count atomic.Int64
}

// DeadLetter is the file format of one dead letter.
type DeadLetter struct {
	Function   string     `json:"function"`
	Deliveries int        `json:"deliveries"`
	Code       string     `json:"code"`
	Error      string     `json:"error"`
	Time       time.Time  `json:"time"`
	Event      core.Event `json:"event"`
}

func (d *deadLetters) put(log *slog.Logger, fn string, e core.Event, deliveries int, cause error) {
	d.count.Add(1)
	dl := DeadLetter{Function: fn, Deliveries: deliveries, Code: core.CodeOf(cause).String(), Error: cause.Error(), Time: time.Now().UTC(), Event: e}
	path := filepath.Join(d.dir, fn, fmt.Sprintf("%s-%s.json", dl.Time.Format("20060102T150405.000000000Z"), newID()[:8]))
	b, err := json.MarshalIndent(dl, "", "  ")
	if err == nil {
		d.mu.Lock()
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		d.mu.Unlock()
	}
	if err != nil {
		log.Error("dead letter could not be written; event dropped",
			slog.String("function", fn), slog.String("event_id", e.ID()), slog.Any("error", err), slog.Any("cause", cause))
		return
	}
	log.Warn("event dead-lettered", slog.String("function", fn), slog.String("event_id", e.ID()),
		slog.Int("deliveries", deliveries), slog.String("code", dl.Code), slog.String("file", path))
}

// DeadLetters returns how many events this runtime has dead-lettered.
func (rt *Runtime) DeadLetters() int64 { return rt.dead.count.Load() }

// deliverNow runs e through fn synchronously, once, for the dev endpoint;
// the caller sees the error. ctx is the request's, so a client that hangs
// up cancels the invocation.
func (rt *Runtime) deliverNow(ctx context.Context, fn core.EventFunc, e core.Event) error {
	return rt.invoke(ctx, fn, e, 1)
}

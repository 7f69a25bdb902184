package idempotency

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/polyfn/polyfn/core"
)

// EventOptions tune Events.
type EventOptions struct {
	Options
	// Key returns an event's idempotency key; default its source and id
	// (CloudEvents make source+id unique). Return a key from the payload
	// (an order id) to make distinct events about one thing idempotent.
	Key func(e core.Event) (string, error)
}

// Events is event middleware: an event whose key was already handled
// successfully is acknowledged without calling the handler again; one whose
// key is being handled right now fails with a retryable Aborted error, so
// the platform redelivers it later; a key reused with a different payload
// fails with FailedPrecondition. Failed executions are never recorded.
func Events(store Store, opts *EventOptions) core.Middleware {
	var o EventOptions
	if opts != nil {
		o = *opts
	}
	o.Options = o.Options.withDefaults()
	byPayload := o.Key != nil
	if !byPayload {
		o.Key = func(e core.Event) (string, error) { return e.Source() + "\x00" + e.ID(), nil }
	}
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			key, err := o.Key(e)
			if err != nil {
				return err
			}
			fp, err := eventFingerprint(e, byPayload)
			if err != nil {
				return core.Wrap(core.Internal, err)
			}
			rec := Record{Key: "event\x00" + key, Fingerprint: fp, State: InProgress,
				Owner: newOwner(), Expires: time.Now().Add(o.Lease)}
			got, started, err := store.Begin(ctx, rec)
			if err != nil {
				return core.Wrap(core.Unavailable, err)
			}
			if !started {
				switch {
				case got.Fingerprint != rec.Fingerprint:
					return core.Errorf(core.FailedPrecondition, "idempotency: key %q was already used with a different payload", key)
				case got.State == InProgress:
					return core.Errorf(core.Aborted, "idempotency: event with key %q is being handled by another execution", key)
				}
				slog.InfoContext(ctx, "idempotency: duplicate event acknowledged", slog.String("key", key))
				return nil
			}
			if herr := core.Invoke(ctx, next, e); herr != nil {
				rctx, cancel := releaseContext(ctx)
				defer cancel()
				if err := store.Release(rctx, rec.Key, rec.Owner); err != nil && !errors.Is(err, ErrNotOwner) {
					slog.WarnContext(ctx, "idempotency: releasing a record", slog.Any("error", err))
				}
				return herr
			}
			rec.State, rec.Expires = Done, time.Now().Add(o.TTL)
			rctx, cancel := releaseContext(ctx)
			defer cancel()
			if err := store.Complete(rctx, rec); err != nil {
				// The work is done; a redelivery may repeat it. Say so, but do
				// not fail an event whose effects happened.
				slog.WarnContext(ctx, "idempotency: recording a handled event", slog.Any("error", err))
			}
			return nil
		})
	}
}

// eventFingerprint hashes what an event says, not how it was delivered:
// its id, source, type, subject and data, without the envelope's time and
// the message's delivery count, which differ between redeliveries. With a
// key taken from the payload, distinct events (other ids) about one thing
// are duplicates, so only the data counts, without the message id.
func eventFingerprint(e core.Event, dataOnly bool) (string, error) {
	stable := core.Event{Event: e.Event.Clone(), Object: e.Object, Change: e.Change, Timer: e.Timer}
	stable.SetTime(time.Time{})
	if e.Message != nil {
		m := *e.Message
		m.DeliveryCount = 0
		if dataOnly {
			m.ID, m.PublishTime = "", time.Time{}
		}
		stable.Message = &m
	}
	if dataOnly {
		stable.SetID("-")
		stable.SetSource("-")
	}
	b, err := stable.MarshalJSON()
	if err != nil {
		return "", err
	}
	return fingerprint(b), nil
}

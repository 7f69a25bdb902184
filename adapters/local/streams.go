package local

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/polyfn/polyfn/core"
)

// A StreamDriver reads the streams of one URL scheme for the local
// runtime's stream triggers. A driver registers itself from init
// (RegisterStreamDriver), and a program links it by blank import, as it
// links gocloud's drivers, so that a function without a stream trigger
// links no stream client:
//
//	import _ "github.com/polyfn/polyfn/adapters/local/localkafka" // kafka://
type StreamDriver interface {
	// OpenStream checks the stream's URL and that the stream answers, and
	// returns its consumer, which has read nothing yet.
	OpenStream(ctx context.Context, s *Stream) (StreamConsumer, error)
}

// A StreamConsumer reads one stream trigger's stream.
type StreamConsumer interface {
	// Run reads the stream until ctx ends: it hands each record to
	// Stream.Deliver, the records of each partition in order, one at a
	// time, and commits a record's position once Deliver is done with it.
	// It returns once nothing of it runs any more, what was handled
	// committed.
	Run(ctx context.Context) error
}

// Stream is one stream trigger, as the runtime gives it to its driver.
type Stream struct {
	// URL is the stream's URL, as the trigger's variable holds it.
	URL string
	// Function is the name of the event function the records go to.
	Function string
	// Trigger is the function's trigger.
	Trigger core.StreamTrigger
	// Group is the consumer group the trigger reads as: its ConsumerGroup,
	// or the function's unit name (core.UnitName).
	Group string
	// Logger is the runtime's logger.
	Logger *slog.Logger

	deliver func(ctx context.Context, e core.Event, stopped func()) error
}

// Deliver hands one record event to the function, as the local runtime
// delivers every stream's records: a failure with a code the runtime
// retries (deliver.go) stops the record's partition at that record, which
// is delivered again after the runtime's retry backoff (Options.RetryBackoff,
// doubling up to 30 s) until it succeeds; after 5 deliveries, or at once for
// a code that is not retried (a client error), the record is dead-lettered
// (under <data>/dead-letters/<function>/, as a message is) and the partition
// moves on.
//
// Deliver returns nil once it is done with the record (handled or
// dead-lettered): its position may be committed. It returns ctx's error
// when ctx ends first (the partition revoked, the runtime stopping): the
// record is not done, its position must not be committed, and whoever
// reads the partition next delivers it again. stopped, when not nil, is
// called once, when the record has failed and its partition waits for the
// next delivery: the moment to commit what was handled before it.
func (s *Stream) Deliver(ctx context.Context, e core.Event, stopped func()) error {
	return s.deliver(ctx, e, stopped)
}

var (
	streamDriversMu sync.RWMutex
	streamDrivers   = map[string]StreamDriver{}
)

// RegisterStreamDriver makes d read the streams whose URLs have scheme
// (core.SchemeKafka). It panics when the scheme has a driver already, a
// programmer error at init.
func RegisterStreamDriver(scheme string, d StreamDriver) {
	streamDriversMu.Lock()
	defer streamDriversMu.Unlock()
	if _, dup := streamDrivers[scheme]; dup {
		panic(fmt.Sprintf("local: stream driver for %s:// registered twice", scheme))
	}
	streamDrivers[scheme] = d
}

func streamDriver(scheme string) (StreamDriver, bool) {
	streamDriversMu.RLock()
	defer streamDriversMu.RUnlock()
	d, ok := streamDrivers[scheme]
	return d, ok
}

// startStream starts reading the stream of fn's trigger. Locally only
// Kafka streams are read (the kafka:// driver, adapters/local/localkafka,
// linked); a Kinesis or Event Hubs URL is refused, naming it.
func (rt *Runtime) startStream(ctx context.Context, a *app, fn core.EventFunc, t core.StreamTrigger) error {
	raw := a.env(t.Stream)
	if raw == "" {
		return fmt.Errorf("local: function %s: %s is not set: a stream trigger reads the stream it names, kafka://HOST:PORT/TOPIC locally", fn.Name, t.Stream)
	}
	u, err := core.ParseStreamURL(raw)
	if err != nil {
		return fmt.Errorf("local: function %s: %s: %w", fn.Name, t.Stream, err)
	}
	d, ok := streamDriver(u.Scheme)
	switch {
	case !ok && u.Scheme == core.SchemeKafka:
		return fmt.Errorf("local: function %s: %s is %s: no driver for kafka:// is linked; import _ \"github.com/polyfn/polyfn/adapters/local/localkafka\" in the program's main",
			fn.Name, t.Stream, redact(raw))
	case !ok:
		return fmt.Errorf("local: function %s: %s is %s: the local runtime reads kafka:// streams only (a %s stream is read on its cloud)",
			fn.Name, t.Stream, redact(raw), u.Scheme)
	}
	group := t.ConsumerGroup
	if group == "" {
		group = core.UnitName(a.Name(), fn.Name)
	}
	s := &Stream{URL: raw, Function: fn.Name, Trigger: t, Group: group, Logger: rt.log,
		deliver: func(ctx context.Context, e core.Event, stopped func()) error {
			return rt.deliverRecord(ctx, fn, e, stopped)
		}}
	c, err := d.OpenStream(ctx, s)
	if err != nil {
		return fmt.Errorf("local: function %s: %w", fn.Name, err)
	}
	rt.sources.Add(1)
	go func() {
		defer rt.sources.Done()
		if err := c.Run(rt.intake); err != nil && rt.intake.Err() == nil {
			rt.log.Error("reading the stream stopped", slog.String("function", fn.Name), slog.String("stream", redact(raw)), slog.Any("error", err))
		}
	}()
	rt.log.Info("stream trigger reading", slog.String("function", fn.Name), slog.String("stream", redact(raw)), slog.String("group", group))
	return nil
}

// deliverRecord is Stream.Deliver: it delivers e to fn until the runtime's
// table says it is done (deliver.go), waiting the backoff between
// deliveries, or until ctx ends.
func (rt *Runtime) deliverRecord(ctx context.Context, fn core.EventFunc, e core.Event, stopped func()) error {
	rt.inflight.Add(1)
	defer rt.inflight.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	done, _, _ := rt.retry(ctx.Done(), fn, e, func(n int, wait time.Duration) {
		if n == 1 && stopped != nil {
			stopped()
		}
		rt.log.Info("stream partition stopped at a failed record", slog.String("function", fn.Name), slog.String("event_id", e.ID()),
			slog.String("partition", e.Record.Partition), slog.String("sequence", e.Record.Sequence), slog.Duration("retry_in", wait))
	})
	if !done {
		return ctx.Err()
	}
	return nil
}

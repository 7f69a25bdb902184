package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/core"
)

// topicCache opens each topic URL once and shuts them all down at the end.
type topicCache struct {
	mu     sync.Mutex
	topics map[string]*pubsub.Topic
}

func (c *topicCache) open(ctx context.Context, u string) (*pubsub.Topic, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.topics[u]; ok {
		return t, nil
	}
	t, err := pubsub.OpenTopic(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("local: opening topic %s: %w", redact(u), err)
	}
	if c.topics == nil {
		c.topics = map[string]*pubsub.Topic{}
	}
	c.topics[u] = t
	return t, nil
}

func (c *topicCache) shutdown(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for u, t := range c.topics {
		// In-memory topics are shared with the apps, which may have shut
		// them down already: that is not an error.
		if err := t.Shutdown(ctx); err != nil && gcerrors.Code(err) != gcerrors.FailedPrecondition {
			errs = append(errs, fmt.Errorf("local: closing topic %s: %w", redact(u), err))
		}
	}
	c.topics = nil
	return errors.Join(errs...)
}

// redact drops a URL's query and credentials for logs: they may hold keys.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// delivery is what the runtime remembers of a message between deliveries.
type delivery struct {
	id string // the event id
	n  int    // deliveries so far
}

// startMessages receives from the trigger's subscription until the runtime
// stops. Each message is one event; a failure nacks it so the broker
// redelivers it after a backoff, up to the trigger's delivery limit, after
// which it is dead-lettered and acknowledged. An ordered trigger handles one
// message at a time.
func (rt *Runtime) startMessages(ctx context.Context, a *app, fn core.EventFunc, t core.MessageTrigger) error {
	subURL := a.env(t.Subscription)
	if strings.HasPrefix(subURL, "mem://") {
		// An in-memory subscription can only be opened on an existing topic:
		// create it (the same one publishers get, by name).
		topicURL, _, _ := strings.Cut(subURL, "?")
		if _, err := rt.topics.open(ctx, topicURL); err != nil {
			return err
		}
	}
	sub, err := pubsub.OpenSubscription(ctx, subURL)
	if err != nil {
		return fmt.Errorf("local: %s: opening subscription %s: %w", fn.Name, redact(subURL), err)
	}
	maxDeliveries := t.MaxDeliveries
	if maxDeliveries == 0 {
		maxDeliveries = defaultMaxDeliveries
	}
	workers := 8
	if t.Ordered {
		workers = 1
	}
	source := redact(subURL)
	var deliveries sync.Map  // message identity → deliveries so far (brokers without a count)
	var nacks sync.WaitGroup // delayed nacks, sent before the subscription shuts down

	rt.sources.Add(1)
	go func() {
		defer rt.sources.Done()
		sem := make(chan struct{}, workers)
		for {
			msg, err := sub.Receive(rt.intake)
			if err != nil {
				if rt.intake.Err() == nil {
					rt.log.Error("receiving stopped", slog.String("function", fn.Name), slog.Any("error", err))
				}
				break
			}
			select {
			case sem <- struct{}{}:
			case <-rt.intake.Done():
				msg.Nack() // not started: the broker keeps it
				continue
			}
			rt.inflight.Add(1)
			go func() {
				defer func() { <-sem; rt.inflight.Done() }()
				rt.handleMessage(fn, msg, source, maxDeliveries, &deliveries, &nacks)
			}()
		}
		// Wait for the workers before shutting the subscription down, so their acks are sent.
		for range workers {
			sem <- struct{}{}
		}
		nacks.Wait()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := sub.Shutdown(sctx); err != nil {
			rt.log.Warn("closing subscription", slog.String("function", fn.Name), slog.Any("error", err))
		}
	}()
	return nil
}

func (rt *Runtime) handleMessage(fn core.EventFunc, msg *pubsub.Message, source string, maxDeliveries int, deliveries *sync.Map, nacks *sync.WaitGroup) {
	// The broker's loggable id names the message across redeliveries here;
	// in-memory ids restart at "msg #0" with every process, so the event gets
	// an id of its own, kept for all deliveries of the message.
	key := msg.LoggableID
	if key == "" {
		key = fmt.Sprintf("%p", msg)
	}
	v, _ := deliveries.LoadOrStore(key, delivery{id: newID()})
	d := v.(delivery)
	d.n++
	deliveries.Store(key, d)
	id, n := d.id, d.n

	m := &core.Message{
		ID:            id,
		Body:          msg.Body,
		Attributes:    msg.Metadata,
		DeliveryCount: n,
		Subscription:  source,
		ContentType:   msg.Metadata["content-type"],
	}
	e, err := core.NewEvent(core.TypeMessage, id, source, m)
	if err != nil { // cannot happen: the type and data match
		panic(err)
	}
	e.SetTime(time.Now().UTC()) // received; the portable message has no publish time

	err = rt.invoke(rt.work, fn, e, n)
	switch decide(err, n, maxDeliveries) {
	case delivered:
		deliveries.Delete(key)
		msg.Ack()
	case retry:
		if !msg.Nackable() {
			// The broker cannot redeliver on request: retry here.
			rt.dispatch(fn, e)
			deliveries.Delete(key)
			msg.Ack()
			return
		}
		nacks.Add(1)
		go func() {
			defer nacks.Done()
			select { // redeliver after the backoff, or at once when stopping
			case <-time.After(rt.backoff(n)):
			case <-rt.intake.Done():
			}
			msg.Nack()
		}()
	case deadLettered:
		deliveries.Delete(key)
		rt.dead.put(rt.log, fn.Name, e, n, err)
		msg.Ack()
	}
}

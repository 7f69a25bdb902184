// Package orders is an event function that records every order published to
// the orders topic, exactly once, in a blob bucket.
//
// Each message's body is one JSON Order. A valid order is stored at
// orders/<id>.json in its canonical JSON form, written only if no object
// exists there yet: a redelivered or duplicated message finds the same
// content stored and succeeds without writing again, while another order
// with an id already recorded fails with AlreadyExists. A malformed message
// fails with InvalidArgument (never worth retrying); storage failures are
// Unavailable, and the message is retried.
package orders

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"

	"github.com/polyfn/polyfn/core"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// The environment variables holding the URLs of the app's resources. The
// function opens only the bucket; the runtime receives from the subscription
// (fed by the topic) and delivers each message as an event.
const (
	BucketEnv       = "ORDERS_BUCKET_URL"
	SubscriptionEnv = "ORDERS_SUBSCRIPTION_URL"
	TopicEnv        = "ORDERS_TOPIC_URL"
)

// service holds the bucket, opened at start-up.
type service struct {
	bucket *blob.Bucket
	locks  keyLocks
}

// New returns the orders app. Its bucket is opened when the app is started
// (App.Init) from ORDERS_BUCKET_URL, and closed by App.Close.
func New() *core.App {
	s := &service{}
	app := core.NewApp("orders")
	// It writes each order, and reads it back when a redelivery finds it
	// recorded (to tell a duplicate from a conflict): read-write. The
	// trigger declares that it consumes the subscription.
	app.Require(core.Bucket(BucketEnv, core.ReadWrite))
	app.OnInit(s.open)
	app.OnClose(s.close)
	app.On("record-order", core.MessageTrigger{Subscription: SubscriptionEnv, Topic: TopicEnv}, core.HandlerFunc(s.record))
	return app
}

func (s *service) open(ctx context.Context, env core.Env) error {
	u := env(BucketEnv)
	if u == "" {
		return fmt.Errorf("orders: %s is not set", BucketEnv)
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return fmt.Errorf("orders: opening the bucket in %s: %w", BucketEnv, err)
	}
	s.bucket = b
	return nil
}

func (s *service) close(context.Context) error {
	if s.bucket == nil {
		return nil
	}
	return s.bucket.Close()
}

func objectKey(id string) string { return "orders/" + id + ".json" }

// record handles one message.
func (s *service) record(ctx context.Context, e core.Event) error {
	m := e.Message
	if m == nil {
		return core.Errorf(core.InvalidArgument, "orders: event %q of type %q carries no message", e.ID(), e.Type())
	}
	o, err := decodeOrder(m.Body)
	if err != nil {
		// The validation error's text lists every violation: a dead letter's
		// error text is all an operator sees of them.
		return core.Errorf(core.InvalidArgument, "orders: message %q is not a valid order: %w", m.ID, err)
	}
	canonical, err := json.Marshal(o)
	if err != nil {
		return core.Errorf(core.Internal, "orders: encoding order %q: %w", o.ID, err)
	}
	key := objectKey(o.ID)

	// Not every driver makes IfNotExist atomic (fileblob checks, then
	// renames), so deliveries of one order in this process take turns; across
	// processes, the cloud stores' conditional writes are atomic.
	unlock := s.locks.lock(key)
	defer unlock()

	err = s.bucket.WriteAll(ctx, key, canonical, &blob.WriterOptions{ContentType: "application/json", IfNotExist: true})
	if err == nil {
		slog.InfoContext(ctx, "orders: recorded", slog.String("order_id", o.ID), slog.String("message_id", m.ID))
		return nil
	}
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		return storageError("writing order "+o.ID, err)
	}

	stored, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		return storageError("reading recorded order "+o.ID, err)
	}
	if !sameOrder(stored, canonical) {
		return core.Errorf(core.AlreadyExists, "orders: order %q was already recorded with different contents", o.ID)
	}
	slog.InfoContext(ctx, "orders: already recorded; duplicate delivery acknowledged",
		slog.String("order_id", o.ID), slog.String("message_id", m.ID))
	return nil
}

// sameOrder reports whether stored is the canonical form canonical, or
// another encoding of the same order (written by an earlier version).
func sameOrder(stored, canonical []byte) bool {
	if bytes.Equal(stored, canonical) {
		return true
	}
	o, err := decodeOrder(stored)
	if err != nil {
		return false
	}
	again, err := json.Marshal(o)
	return err == nil && bytes.Equal(again, canonical)
}

// storageError codes a storage failure: the context's own code when it
// ended, Unavailable (retry the message) otherwise.
func storageError(op string, err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.Canceled:
		return core.Errorf(core.Canceled, "orders: %s: %w", op, err)
	case gcerrors.DeadlineExceeded:
		return core.Errorf(core.DeadlineExceeded, "orders: %s: %w", op, err)
	}
	return core.Errorf(core.Unavailable, "orders: %s: %w", op, err)
}

// keyLocks serializes work on one key within the process: a fixed set of
// mutexes, chosen by the key's hash, so that memory stays bounded.
type keyLocks [64]sync.Mutex

func (l *keyLocks) lock(key string) (unlock func()) {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

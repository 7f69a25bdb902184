package jetstreampubsub

import (
	"context"
	"strings"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
)

// TestNotFound: what a user gets wrong in a URL fails with NotFound and an
// error naming the subject, stream or consumer.
func TestNotFound(t *testing.T) {
	url := startServer(t)
	js := connect(t, url)
	ctx := context.Background()
	if _, err := OpenTopic(ctx, js, "ORDERS", "orders.created", &TopicOptions{Create: true}); err != nil {
		t.Fatal(err)
	}

	// The subject is stored by ORDERS, not by the topic's stream PAYMENTS.
	wrong, err := OpenTopic(ctx, js, "PAYMENTS", "orders.created", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Shutdown(ctx)
	err = wrong.Send(ctx, &pubsub.Message{Body: []byte("x")})
	if gcerrors.Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "PAYMENTS") {
		t.Errorf("send to a subject another stream stores: %v (code %v), want NotFound naming PAYMENTS", err, gcerrors.Code(err))
	}

	// A consumer that does not exist, of a stream that does.
	sub, err := OpenSubscription(ctx, js, "ORDERS", "nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := sub.Receive(rctx); gcerrors.Code(err) != gcerrors.NotFound || rctx.Err() != nil {
		t.Errorf("receive from a missing consumer: %v (code %v), want NotFound", err, gcerrors.Code(err))
	}

	// create=true without a subject needs an existing stream.
	if _, err := OpenSubscription(ctx, js, "MISSING", "worker", &SubscriptionOptions{Create: true}); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Errorf("creating a consumer of a missing stream without a subject: %v, want an error naming it", err)
	}
	// With an existing stream it takes every subject.
	if _, err := OpenSubscription(ctx, js, "ORDERS", "all", &SubscriptionOptions{Create: true}); err != nil {
		t.Error(err)
	}
}

// TestConsumerDeleted: a consumer deleted under a running subscription
// fails its receives with NotFound instead of hanging.
func TestConsumerDeleted(t *testing.T) {
	url := startServer(t)
	js := connect(t, url)
	ctx := context.Background()
	sub, err := OpenSubscription(ctx, js, "ORDERS", "worker", &SubscriptionOptions{Subject: "orders.>", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	if err := js.DeleteConsumer(ctx, "ORDERS", "worker"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := sub.Receive(rctx); gcerrors.Code(err) != gcerrors.NotFound || rctx.Err() != nil {
		t.Errorf("receive after the consumer was deleted: %v (code %v), want NotFound", err, gcerrors.Code(err))
	}
}

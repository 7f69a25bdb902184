package jetstreampubsub

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/drivertest"

	"github.com/polyfn/polyfn/resources/jetstreampubsub/embedded"
)

// startServer runs an embedded JetStream server storing under a temporary
// directory for the test's life.
func startServer(t testing.TB) string {
	t.Helper()
	url, stop, err := embedded.Start(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url
}

func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

type harness struct {
	js jetstream.JetStream
	nc *nats.Conn
}

var seq atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// name makes a stream or consumer name, unique in the server, from a test
// name.
func name(testName string) string {
	return fmt.Sprintf("%s_%d", unsafeName.ReplaceAllString(testName, "_"), seq.Add(1))
}

func (h *harness) CreateTopic(ctx context.Context, testName string) (driver.Topic, func(), error) {
	stream := name(testName)
	dt, err := openTopic(ctx, h.js, stream, "conformance."+stream, &TopicOptions{Create: true})
	if err != nil {
		return nil, nil, err
	}
	return dt, func() { _ = h.js.DeleteStream(context.Background(), stream) }, nil
}

func (h *harness) MakeNonexistentTopic(ctx context.Context) (driver.Topic, error) {
	return openTopic(ctx, h.js, "nonexistent", "nonexistent.subject", nil)
}

func (h *harness) CreateSubscription(ctx context.Context, dt driver.Topic, testName string) (driver.Subscription, func(), error) {
	tp := dt.(*topic)
	consumer := name(testName)
	ds, err := openSubscription(ctx, h.js, tp.stream, consumer, &SubscriptionOptions{Subject: tp.subject, Create: true})
	if err != nil {
		return nil, nil, err
	}
	return ds, func() { _ = h.js.DeleteConsumer(context.Background(), tp.stream, consumer) }, nil
}

func (h *harness) MakeNonexistentSubscription(ctx context.Context) (driver.Subscription, func(), error) {
	ds, err := openSubscription(ctx, h.js, "nonexistent", "nonexistent", nil)
	return ds, func() {}, err
}

func (h *harness) Close() { h.nc.Close() }

func (h *harness) MaxBatchSizes() (int, int) { return 0, 0 }

func (h *harness) SupportsMultipleSubscriptions() bool { return true }

// TestConformance runs gocloud's driver conformance suite against a real
// JetStream server (embedded, file storage).
func TestConformance(t *testing.T) {
	url := startServer(t)
	newHarness := func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		nc, err := nats.Connect(url)
		if err != nil {
			return nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, err
		}
		return &harness{js: js, nc: nc}, nil
	}
	drivertest.RunConformanceTests(t, newHarness, []drivertest.AsTest{asTest{}})
}

// asTest checks the types the package documents for As.
type asTest struct{}

func (asTest) Name() string { return "jetstream" }

func (asTest) TopicCheck(top *pubsub.Topic) error {
	var js jetstream.JetStream
	if !top.As(&js) || js == nil {
		return errors.New("Topic.As(*jetstream.JetStream) failed")
	}
	var nc *nats.Conn
	if top.As(&nc) {
		return errors.New("Topic.As(**nats.Conn) succeeded, want false")
	}
	return nil
}

func (asTest) SubscriptionCheck(sub *pubsub.Subscription) error {
	var js jetstream.JetStream
	if !sub.As(&js) || js == nil {
		return errors.New("Subscription.As(*jetstream.JetStream) failed")
	}
	return nil
}

func (asTest) TopicErrorCheck(top *pubsub.Topic, err error) error {
	var jsErr jetstream.JetStreamError
	var natsNoResponders = errors.Is(err, nats.ErrNoResponders)
	if !top.ErrorAs(err, &jsErr) && !natsNoResponders {
		return fmt.Errorf("Topic.ErrorAs(%v, *jetstream.JetStreamError) failed", err)
	}
	return nil
}

func (asTest) SubscriptionErrorCheck(sub *pubsub.Subscription, err error) error {
	var jsErr jetstream.JetStreamError
	if !sub.ErrorAs(err, &jsErr) {
		return fmt.Errorf("Subscription.ErrorAs(%v, *jetstream.JetStreamError) failed", err)
	}
	var api *jetstream.APIError
	if !sub.ErrorAs(err, &api) || api.Code != 404 {
		return fmt.Errorf("Subscription.ErrorAs(%v, **jetstream.APIError) failed or is not a 404", err)
	}
	if gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("code %v, want NotFound", gcerrors.Code(err))
	}
	return nil
}

func (asTest) MessageCheck(m *pubsub.Message) error {
	var jm jetstream.Msg
	if !m.As(&jm) || jm == nil {
		return errors.New("Message.As(*jetstream.Msg) failed")
	}
	if md, err := jm.Metadata(); err != nil || md.Sequence.Stream == 0 {
		return fmt.Errorf("received message's metadata: %v, %v", md, err)
	}
	return nil
}

func (asTest) BeforeSend(as func(any) bool) error {
	var nm *nats.Msg
	if !as(&nm) || nm == nil || nm.Subject == "" {
		return errors.New("BeforeSend As(**nats.Msg) failed")
	}
	return nil
}

func (asTest) AfterSend(as func(any) bool) error {
	var ack *jetstream.PubAck
	if !as(&ack) || ack == nil || ack.Stream == "" || ack.Sequence == 0 {
		return errors.New("AfterSend As(**jetstream.PubAck) failed")
	}
	return nil
}

// TestURL opens a topic and a subscription by URL, creating the stream and
// consumer, and carries a message with metadata through them.
func TestURL(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	sub, err := pubsub.OpenSubscription(ctx, "jetstream://ORDERS/orders-worker?create=true&subject=orders.created&ackwait=1s&server="+url)
	if err != nil {
		t.Fatal(err)
	}
	top, err := pubsub.OpenTopic(ctx, "jetstream://ORDERS/orders.created?server="+url)
	if err != nil {
		t.Fatal(err)
	}
	defer top.Shutdown(ctx)
	if err := top.Send(ctx, &pubsub.Message{Body: []byte("o-1"), Metadata: map[string]string{"ce-id": "1", "k:ey": " a\r\nb "}}); err != nil {
		t.Fatal(err)
	}
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	if string(m.Body) != "o-1" || m.Metadata["ce-id"] != "1" || m.Metadata["k:ey"] != " a\r\nb " {
		t.Errorf("received %q %q", m.Body, m.Metadata)
	}

	// Without ?server=, NATS_SERVER_URL names the server; the stream and
	// consumer exist now, so no create is needed. The first subscription
	// stops first: a message it had fetched would come back only after the
	// ack wait.
	if err := sub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NATS_SERVER_URL", url)
	top2, err := pubsub.OpenTopic(ctx, "jetstream://ORDERS/orders.created")
	if err != nil {
		t.Fatal(err)
	}
	defer top2.Shutdown(ctx)
	if err := top2.Send(ctx, &pubsub.Message{Body: []byte("o-2")}); err != nil {
		t.Fatal(err)
	}
	sub2, err := pubsub.OpenSubscription(ctx, "jetstream://ORDERS/orders-worker")
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Shutdown(ctx)
	m, err = sub2.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	if string(m.Body) != "o-2" {
		t.Errorf("received %q, want o-2 (o-1 was acked)", m.Body)
	}
}

// TestURLErrors: bad URLs are refused with a clear error, before any
// connection.
func TestURLErrors(t *testing.T) {
	t.Setenv("NATS_SERVER_URL", "")
	ctx := context.Background()
	for _, u := range []string{
		"jetstream://ORDERS/orders.created",                            // no server
		"jetstream://ORDERS?server=nats://127.0.0.1:1",                 // no subject
		"jetstream://ORDERS/a/b?server=nats://127.0.0.1:1",             // two path parts
		"jetstream://ORDERS/orders.*?server=nats://127.0.0.1:1",        // wildcard topic
		"jetstream://ORDERS/orders?server=nats://127.0.0.1:1&colour=1", // unknown parameter
		"jetstream://ORDERS/orders?server=nats://127.0.0.1:1&create=maybe",
	} {
		if _, err := pubsub.OpenTopic(ctx, u); err == nil {
			t.Errorf("OpenTopic(%s) succeeded, want error", u)
		} else {
			t.Logf("%s: %v", u, err)
		}
	}
	for _, u := range []string{
		"jetstream://ORDERS/worker?server=nats://127.0.0.1:1&ackwait=-1s",
		"jetstream://ORDERS/worker?server=nats://127.0.0.1:1&maxdeliver=0",
		"jetstream://ORDERS/work.er?server=nats://127.0.0.1:1",
	} {
		if _, err := pubsub.OpenSubscription(ctx, u); err == nil {
			t.Errorf("OpenSubscription(%s) succeeded, want error", u)
		}
	}
}

func TestEscape(t *testing.T) {
	for _, s := range []string{"", "plain", "Nats-Msg-Id", "nats-x", "a b", "%", "%zz", "☺\x00\r\n:", "+"} {
		if got := unescape(escape(s)); got != s {
			t.Errorf("unescape(escape(%q)) = %q", s, got)
		}
		md := map[string]string{s: s}
		h := encodeMetadata(md)
		for k := range h {
			if reserved(k) {
				t.Errorf("metadata key %q sent as reserved header %q", s, k)
			}
		}
		if got := decodeMetadata(h); got[s] != s || len(got) != 1 {
			t.Errorf("metadata %q decoded as %q", md, got)
		}
	}
}

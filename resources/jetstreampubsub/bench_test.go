package jetstreampubsub

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/mempubsub"
)

// openPair opens a topic and a subscription of it by URL, through gocloud's
// portable API: mem:// (in-process, what polyfn dev used) or jetstream://
// against an embedded server with file storage.
func openPair(b *testing.B, scheme string) (*pubsub.Topic, *pubsub.Subscription) {
	b.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("bench%d", seq.Add(1))
	var topicURL, subURL string
	switch scheme {
	case "mem":
		topicURL, subURL = "mem://"+name, "mem://"+name
	case "jetstream":
		url := startServer(b)
		topicURL = fmt.Sprintf("jetstream://%s/%s.events?server=%s&create=true", name, name, url)
		subURL = fmt.Sprintf("jetstream://%s/worker?server=%s&create=true&subject=%s.events", name, url, name)
	}
	top, err := pubsub.OpenTopic(ctx, topicURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = top.Shutdown(ctx) })
	sub, err := pubsub.OpenSubscription(ctx, subURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Shutdown(ctx) })
	return top, sub
}

var body = []byte(`{"specversion":"1.0","id":"o-1","type":"order.created","data":{"order":"o-1","total":42}}`)

// BenchmarkLatency: one message at a time, from Send to its Receive (and
// Ack): ns/op is the publish-to-receive latency.
func BenchmarkLatency(b *testing.B) {
	for _, scheme := range []string{"mem", "jetstream"} {
		b.Run(scheme, func(b *testing.B) {
			top, sub := openPair(b, scheme)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := top.Send(ctx, &pubsub.Message{Body: body, Metadata: map[string]string{"ce-type": "order.created"}}); err != nil {
					b.Fatal(err)
				}
				m, err := sub.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Ack()
			}
		})
	}
}

// BenchmarkThroughput: 16 publishers and one receiving loop; ns/op is the
// time per message through the pipeline, msgs/s its inverse.
func BenchmarkThroughput(b *testing.B) {
	const publishers = 16
	for _, scheme := range []string{"mem", "jetstream"} {
		b.Run(scheme, func(b *testing.B) {
			top, sub := openPair(b, scheme)
			ctx := context.Background()
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, publishers)
			for p := range publishers {
				wg.Go(func() {
					for i := p; i < b.N; i += publishers {
						if err := top.Send(ctx, &pubsub.Message{Body: body}); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			for range b.N {
				m, err := sub.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Ack()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

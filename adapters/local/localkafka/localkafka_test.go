package localkafka_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/polyfn/polyfn/adapters/local"
	_ "github.com/polyfn/polyfn/adapters/local/localkafka"
	"github.com/polyfn/polyfn/core"
)

// wait is how long a condition may take to hold; the tests wait on
// conditions, never on time.
const wait = 60 * time.Second

// recorder is the stream function: it records each delivery, fails the
// first delivery of a record whose value is "fail-once" (Unavailable,
// which the runtime retries), holds that record's second delivery until
// released, and fails a record whose value is "bad" with InvalidArgument
// (dead-lettered at once).
type recorder struct {
	mu      sync.Mutex
	got     []core.Event
	tries   map[string]int
	retried chan struct{} // the fail-once record's second delivery began
	release chan struct{}
}

func (r *recorder) handle(ctx context.Context, e core.Event) error {
	r.mu.Lock()
	r.got = append(r.got, e)
	r.tries[e.ID()]++
	n := r.tries[e.ID()]
	r.mu.Unlock()
	switch string(e.Record.Data) {
	case "fail-once":
		if n == 1 {
			return core.Errorf(core.Unavailable, "try again")
		}
		close(r.retried)
		<-r.release
	case "bad":
		return core.Errorf(core.InvalidArgument, "malformed")
	}
	return nil
}

// delivered returns the data of the deliveries of partition p, in order.
func (r *recorder) delivered(p string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.got {
		if e.Record.Partition == p {
			out = append(out, string(e.Record.Data))
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConsumeResumesAtFailure produces records on two partitions of a
// real Kafka protocol implementation (kfake), consumes them through the
// local runtime with franz-go, and checks that each partition is handled
// in order; that a record failing once stops its partition, its offset
// uncommitted, while the other partition goes on; that it is delivered
// again and its partition's later records arrive only after it; that a
// record failing for good is dead-lettered and passed; and that the
// committed offsets end past every record.
func TestConsumeResumesAtFailure(t *testing.T) {
	brokers, admin := startKafka(t, 2, "clicks")

	produce := func(p int32, values ...string) {
		t.Helper()
		for _, v := range values {
			r := &kgo.Record{Topic: "clicks", Partition: p, Key: []byte("user-" + v), Value: []byte(v),
				Headers: []kgo.RecordHeader{{Key: "kind", Value: []byte("click")}}}
			if err := admin.ProduceSync(t.Context(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(0, "a", "b", "fail-once", "d", "e")
	produce(1, "f", "bad", "h")

	rec := &recorder{tries: map[string]int{}, retried: make(chan struct{}), release: make(chan struct{})}
	app := core.NewApp("shop")
	app.On("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 2},
		core.HandlerFunc(rec.handle))
	env := map[string]string{"CLICKS_STREAM_URL": "kafka://" + strings.Join(brokers, ",") + "/clicks"}
	rt, err := local.New([]*core.App{app}, &local.Options{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), RetryBackoff: 10 * time.Millisecond,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			close(rec.release)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})

	committed := func() map[int32]int64 {
		t.Helper()
		os, err := kadm.NewClient(admin).FetchOffsets(t.Context(), "shop-clicks")
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]int64{}
		os.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.Topic == "clicks" {
				out[o.Partition] = o.At
			}
		})
		return out
	}

	// The second delivery of the failed record waits: its partition is
	// stopped at it, the records before it committed and it not; the
	// other partition is handled to its end.
	select {
	case <-rec.retried:
	case <-time.After(wait):
		t.Fatalf("the failed record was not delivered again; partition 0 got %q", rec.delivered("0"))
	}
	waitFor(t, "partition 1 committed to its end", func() bool { return committed()[1] == 3 })
	if got := committed()[0]; got != 2 {
		t.Errorf("while the failed record (offset 2) is retried, partition 0's committed offset is %d, want 2", got)
	}
	if got, want := rec.delivered("0"), []string{"a", "b", "fail-once", "fail-once"}; !slices.Equal(got, want) {
		t.Errorf("partition 0 got %q before the failed record succeeded, want %q", got, want)
	}
	if got, want := rec.delivered("1"), []string{"f", "bad", "h"}; !slices.Equal(got, want) {
		t.Errorf("partition 1 got %q, want %q (the bad record once, then the next)", got, want)
	}
	if n := rt.DeadLetters(); n != 1 {
		t.Errorf("%d dead letters, want the bad record's", n)
	}

	close(rec.release)
	released = true
	waitFor(t, "partition 0 committed to its end", func() bool { return committed()[0] == 5 })
	if got, want := rec.delivered("0"), []string{"a", "b", "fail-once", "fail-once", "d", "e"}; !slices.Equal(got, want) {
		t.Errorf("partition 0 got %q, want %q", got, want)
	}

	// The events: the record's fields, its id and source.
	rec.mu.Lock()
	first := rec.got[0]
	rec.mu.Unlock()
	r := first.Record
	if first.Type() != core.TypeRecord || r.Stream != "clicks" || r.Key != "user-"+string(r.Data) || r.Headers["kind"] != "click" || r.ArrivalTime.IsZero() {
		t.Errorf("event %s: record %+v", first.Type(), *r)
	}
	if want := "clicks-" + r.Partition + ":" + r.Sequence; first.ID() != want {
		t.Errorf("id %q, want %q", first.ID(), want)
	}
	if want := env["CLICKS_STREAM_URL"]; first.Source() != want || !first.Time().Equal(r.ArrivalTime) {
		t.Errorf("source %q, time %v; want %q and the arrival time %v", first.Source(), first.Time(), want, r.ArrivalTime)
	}
}

// TestStartErrors checks that a stream the local runtime cannot read fails
// Start naming the variable and the URL.
func TestStartErrors(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"", "CLICKS_STREAM_URL is not set"},
		{"kinesis://clicks", "kinesis://clicks: the local runtime reads kafka:// streams only"},
		{"eventhubs://shop/clicks", "eventhubs://shop/clicks: the local runtime reads kafka:// streams only"},
		{"kafka://localhost/clicks", `broker "localhost": want HOST:PORT`},
	} {
		t.Run(tt.url, func(t *testing.T) {
			app := core.NewApp("shop")
			app.On("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
			rt, err := local.New([]*core.App{app}, &local.Options{
				Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Lookup: func(k string) (string, bool) { return tt.url, k == "CLICKS_STREAM_URL" && tt.url != "" },
			})
			if err != nil {
				t.Fatal(err)
			}
			err = rt.Start(t.Context())
			if err == nil {
				_ = rt.Shutdown(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "function clicks") {
				t.Errorf("Start: %v, want an error naming function clicks and %q", err, tt.want)
			}
		})
	}
}

// TestStopLeavesFailedRecord stops the runtime while a failed record waits
// for its retry: its offset stays uncommitted, and the next runtime of the
// same group starts from it.
func TestStopLeavesFailedRecord(t *testing.T) {
	brokers, admin := startKafka(t, 1, "orders")
	for _, v := range []string{"x", "poison", "y"} {
		if err := admin.ProduceSync(t.Context(), &kgo.Record{Topic: "orders", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	committed := func() int64 {
		os, err := kadm.NewClient(admin).FetchOffsets(t.Context(), "shop-orders")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := os.Lookup("orders", 0)
		return o.At
	}
	env := map[string]string{"ORDERS_STREAM_URL": "kafka://" + strings.Join(brokers, ",") + "/orders"}
	start := func(h core.HandlerFunc) *local.Runtime {
		app := core.NewApp("shop")
		app.On("orders", core.StreamTrigger{Stream: "ORDERS_STREAM_URL", StartingPosition: core.StartEarliest}, h)
		rt, err := local.New([]*core.App{app}, &local.Options{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), RetryBackoff: time.Hour, // the retry waits past the test
			Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return rt
	}
	stop := func(rt *local.Runtime) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}

	failed := make(chan struct{}, 1)
	first := start(func(_ context.Context, e core.Event) error {
		if string(e.Record.Data) == "poison" {
			select {
			case failed <- struct{}{}:
			default:
			}
			return core.Errorf(core.Unavailable, "not now")
		}
		return nil
	})
	select {
	case <-failed:
	case <-time.After(wait):
		t.Fatal("the poison record was not delivered")
	}
	waitFor(t, "the record before the failed one committed", func() bool { return committed() == 1 })
	stop(first)
	if got := committed(); got != 1 {
		t.Fatalf("after the stop, committed offset %d, want 1 (the failed record's)", got)
	}

	var mu sync.Mutex
	var got []string
	second := start(func(_ context.Context, e core.Event) error {
		mu.Lock()
		got = append(got, string(e.Record.Data))
		mu.Unlock()
		return nil
	})
	t.Cleanup(func() { stop(second) })
	waitFor(t, "the next runtime to commit to the end", func() bool { return committed() == 3 })
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"poison", "y"}; !slices.Equal(got, want) {
		t.Errorf("the next runtime got %q, want %q", got, want)
	}
}

// startKafka starts kfake with topic seeded with partitions, and a client
// of it that produces to the partition each record names; both stop with
// the test.
func startKafka(t *testing.T, partitions int32, topic string) (brokers []string, cl *kgo.Client) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers = cluster.ListenAddrs()
	cl, err = kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return brokers, cl
}

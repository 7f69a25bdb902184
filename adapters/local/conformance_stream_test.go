package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/polyfn/polyfn/adapters/adaptertest"
	_ "github.com/polyfn/polyfn/adapters/local/localkafka" // kafka://
	"github.com/polyfn/polyfn/core"
)

// The conformance stream: a topic of kfake, a Kafka protocol
// implementation in process, read by the runtime's kafka:// driver.
const (
	streamTopic = "conformance-stream"
	// streamPartitions leaves fresh partitions for the fixture partitions
	// that a failure stops (see kafkaStream.deliver).
	streamPartitions = 16
	// streamWait bounds the wait for a delivery's outcome.
	streamWait = 60 * time.Second
)

// kafkaStream delivers the suite's record events through a real Kafka:
// each record is written to the partition its fixture names, with its key,
// data, headers, arrival time as timestamp and its id in the ce_id header
// (the CloudEvents Kafka binding, which the driver takes for the event's
// id), and the outcome is read back from the consumer group's committed
// offsets.
type kafkaStream struct {
	cluster *kfake.Cluster
	cl      *kgo.Client
	adm     *kadm.Client
	url     string
	group   string
	failed  *failureLog

	mu    sync.Mutex
	parts map[string]int32 // fixture partition → Kafka partition
	fresh int32            // the next partition no fixture has used
}

func newKafkaStream(t *testing.T) *kafkaStream {
	cluster, err := kfake.NewCluster(kfake.SeedTopics(streamPartitions, streamTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &kafkaStream{cluster: cluster, cl: cl, adm: kadm.NewClient(cl), failed: &failureLog{ids: map[string]bool{}},
		url: "kafka://" + cluster.ListenAddrs()[0] + "/" + streamTopic, parts: map[string]int32{}}
}

// prepare readies the topic before the runtime reads it: the fixtures'
// sequence numbers count from 1, so each partition gets a first record at
// offset 0 that the group has already committed past (a commit from
// outside the group, which Kafka takes while the group has no member).
func (k *kafkaStream) prepare(t *testing.T, group string) {
	k.group = group
	var os kadm.Offsets
	for p := range int32(streamPartitions) {
		r := &kgo.Record{Topic: streamTopic, Partition: p, Value: []byte("before the suite")}
		if err := k.cl.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		os.AddOffset(streamTopic, p, r.Offset+1, -1)
	}
	resp, err := k.adm.CommitOffsets(t.Context(), group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("committing past the first records: %v", err)
	}
}

// partition returns the Kafka partition of a fixture partition.
func (k *kafkaStream) partition(fixture string) (int32, error) {
	if p, ok := k.parts[fixture]; ok {
		return p, nil
	}
	n, err := strconv.Atoi(fixture)
	if err != nil || n < 0 || n >= streamPartitions {
		return 0, fmt.Errorf("fixture partition %q: want a number below %d", fixture, streamPartitions)
	}
	k.parts[fixture] = int32(n)
	k.fresh = max(k.fresh, int32(n)+1)
	return int32(n), nil
}

// deliver writes the events' records and waits until each partition they
// went to is committed past its last record or stopped at a record that
// failed (the runtime logged its failure and committed what came before
// it). The records at or past a partition's committed offset are the ones
// Kafka will deliver again. A partition so stopped waits for its retry,
// which the harness's backoff (30 s, the runtime's cap) puts past the
// stream cases: the fixture partition's later records go to a fresh
// partition, as the stopped one would hold them back.
func (k *kafkaStream) deliver(ctx context.Context, events []core.Event) (adaptertest.Outcome, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out adaptertest.Outcome
	k.failed.reset()
	rs := make([]*kgo.Record, len(events))
	fixtures := make([]string, len(events))
	for i, e := range events {
		if e.Record == nil {
			return out, fmt.Errorf("event %s is no stream record", e.ID())
		}
		p, err := k.partition(e.Record.Partition)
		if err != nil {
			return out, err
		}
		r := &kgo.Record{Topic: streamTopic, Partition: p, Key: []byte(e.Record.Key), Value: e.Record.Data,
			Timestamp: e.Record.ArrivalTime, Headers: []kgo.RecordHeader{{Key: "ce_id", Value: []byte(e.ID())}}}
		keys := make([]string, 0, len(e.Record.Headers))
		for h := range e.Record.Headers {
			keys = append(keys, h)
		}
		slices.Sort(keys)
		for _, h := range keys {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h, Value: []byte(e.Record.Headers[h])})
		}
		rs[i], fixtures[i] = r, e.Record.Partition
	}
	if err := k.cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return out, fmt.Errorf("producing: %w", err)
	}
	last := map[int32]int64{}
	at := map[int32]map[int64]string{} // partition → offset → event id
	for i, r := range rs {
		last[r.Partition] = max(last[r.Partition], r.Offset)
		if at[r.Partition] == nil {
			at[r.Partition] = map[int64]string{}
		}
		at[r.Partition][r.Offset] = events[i].ID()
	}
	deadline := time.Now().Add(streamWait)
	var committed map[int32]int64
	for {
		var err error
		if committed, err = k.committed(ctx); err != nil {
			return out, err
		}
		settled := true
		for p, l := range last {
			c := committed[p]
			if id, ok := at[p][c]; c <= l && !(ok && k.failed.has(id)) {
				settled = false
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("after %v, committed offsets %v; the records end at %v", streamWait, committed, last)
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
	for i, r := range rs {
		if r.Offset >= committed[r.Partition] {
			out.Redelivered = append(out.Redelivered, events[i].ID())
			k.parts[fixtures[i]] = k.fresh
			k.fresh++
		}
	}
	if k.fresh > streamPartitions {
		return out, fmt.Errorf("the stream's %d partitions are used up", streamPartitions)
	}
	return out, nil
}

// committed returns the group's committed offset of each partition.
func (k *kafkaStream) committed(ctx context.Context) (map[int32]int64, error) {
	os, err := k.adm.FetchOffsets(ctx, k.group)
	if err != nil {
		return nil, fmt.Errorf("fetching the committed offsets: %w", err)
	}
	out := map[int32]int64{}
	os.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.Topic == streamTopic {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

// failureLog is the runtime's log handler in the harness: it keeps the
// ids of the events whose delivery failed ("event failed"), and drops the
// rest.
type failureLog struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (l *failureLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *failureLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "event failed" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "event_id" {
			l.mu.Lock()
			l.ids[a.Value.String()] = true
			l.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (l *failureLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *failureLog) WithGroup(string) slog.Handler      { return l }

func (l *failureLog) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[id]
}

func (l *failureLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.ids)
}

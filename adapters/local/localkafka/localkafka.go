// Package localkafka reads Kafka streams for the local runtime's stream
// triggers (core.StreamTrigger on kafka://HOST:PORT[,HOST:PORT…]/TOPIC),
// with franz-go as a member of the trigger's consumer group. Import it for
// its side effect, so that only a program with a Kafka stream links a Kafka
// client:
//
//	import _ "github.com/polyfn/polyfn/adapters/local/localkafka"
//
// Each assigned partition is read by a goroutine of its own, in offset
// order, one record per invocation; the partitions go on side by side. A
// record's offset is committed once the runtime is done with it (handled,
// or dead-lettered after its deliveries: see local.Stream.Deliver), never
// before: a record that failed stops its partition, whose later records
// wait until it succeeds, and a partition revoked or a runtime stopped
// while a record waits leaves that record to be delivered again from the
// committed offset. The trigger's StartingPosition is where a partition
// with no committed offset starts (the group's reset offset); BatchSize is
// the most records of a partition fetched ahead of the one being handled,
// and how many are handled between two commits.
package localkafka

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
)

func init() { local.RegisterStreamDriver(core.SchemeKafka, driver{}) }

type driver struct{}

// pingTimeout bounds the check that a broker answers when the trigger
// starts.
const pingTimeout = 10 * time.Second

func (driver) OpenStream(ctx context.Context, s *local.Stream) (local.StreamConsumer, error) {
	u, err := core.ParseStreamURL(s.URL)
	if err != nil {
		return nil, err
	}
	where := "kafka://" + strings.Join(u.Brokers, ",") + "/" + u.Name
	reset := kgo.NewOffset().AtEnd()
	if s.Trigger.Position() == core.StartEarliest {
		reset = kgo.NewOffset().AtStart()
	}
	c := &consumer{s: s, topic: u.Name, source: where, batch: s.Trigger.Batch(), parts: map[int32]*partition{}}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(u.Brokers...),
		kgo.ConsumerGroup(s.Group),
		kgo.ConsumeTopics(u.Name),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		// Rebalances wait for the poll loop, so that no record of a
		// revoked partition reaches a goroutine after the revoke.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.revoked),
		// A partition resumed after a failure is fetched again within
		// a second, not after a whole idle long poll.
		kgo.FetchMaxWait(time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("localkafka: %s: %w", where, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("localkafka: %s: no broker answers: %w", where, err)
	}
	c.cl = cl
	return c, nil
}

// consumer reads one trigger's topic.
type consumer struct {
	s      *local.Stream
	cl     *kgo.Client
	topic  string
	source string // the events' source: kafka://BROKERS/TOPIC
	batch  int

	mu    sync.Mutex
	parts map[int32]*partition
}

func (c *consumer) Run(ctx context.Context) error {
	defer func() {
		c.stop(nil)
		c.cl.CloseAllowingRebalance()
	}()
	for {
		fs := c.cl.PollRecords(ctx, c.batch)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		failed := false
		fs.EachError(func(topic string, p int32, err error) {
			failed = true
			c.s.Logger.Warn("kafka fetch failed", slog.String("function", c.s.Function), slog.String("stream", c.source),
				slog.Int("partition", int(p)), slog.Any("error", err))
		})
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				c.partition(p.Partition).push(p.Records)
			}
		})
		c.cl.AllowRebalance()
		if failed && fs.NumRecords() == 0 {
			select { // the client retries; do not spin on its errors
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// partition returns the goroutine of partition p, started on its first
// records.
func (c *consumer) partition(p int32) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.parts[p]
	if !ok {
		ctx, cancel := context.WithCancel(context.Background())
		w = &partition{c: c, p: p, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
		c.parts[p] = w
		go w.run()
	}
	return w
}

// revoked stops the goroutines of the partitions the group takes away,
// each once its record in hand is done or has stopped, and commits what
// they handled; a partition lost outright is stopped alike (its commit
// then fails, and its next reader starts from the last one made).
func (c *consumer) revoked(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.stop(lost[c.topic])
}

// stop stops the goroutines of ps, or of every partition when ps is nil,
// and waits for them.
func (c *consumer) stop(ps []int32) {
	c.mu.Lock()
	var ws []*partition
	for p, w := range c.parts {
		if ps == nil || containsPartition(ps, p) {
			ws = append(ws, w)
			delete(c.parts, p)
		}
	}
	c.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
	for _, w := range ws {
		<-w.done
	}
}

func containsPartition(ps []int32, p int32) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// partition hands one partition's records to the function in order.
type partition struct {
	c      *consumer
	p      int32
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	queue  []*kgo.Record
	paused bool

	last  *kgo.Record // the last record done with
	dirty int         // records done with since the last commit
}

// push queues records fetched for the partition; a partition that has a
// batch waiting is no longer fetched until it catches up.
func (w *partition) push(rs []*kgo.Record) {
	w.mu.Lock()
	w.queue = append(w.queue, rs...)
	if len(w.queue) >= w.c.batch && !w.paused {
		w.c.cl.PauseFetchPartitions(map[string][]int32{w.c.topic: {w.p}})
		w.paused = true
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *partition) run() {
	defer close(w.done)
	defer w.resume()
	defer w.commit()
	for {
		r, ok := w.next()
		if !ok {
			w.commit() // caught up
			select {
			case <-w.wake:
				continue
			case <-w.ctx.Done():
				return
			}
		}
		if err := w.c.s.Deliver(w.ctx, w.c.event(r), w.commit); err != nil {
			return // not done: delivered again from the committed offset
		}
		w.last, w.dirty = r, w.dirty+1
		if w.dirty >= w.c.batch {
			w.commit()
		}
	}
}

// next takes the next record, resuming fetches once the queue is short.
func (w *partition) next() (*kgo.Record, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nil, false
	}
	r := w.queue[0]
	w.queue[0] = nil
	w.queue = w.queue[1:]
	if w.paused && len(w.queue) < w.c.batch {
		w.c.cl.ResumeFetchPartitions(map[string][]int32{w.c.topic: {w.p}})
		w.paused = false
	}
	return r, true
}

func (w *partition) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.paused {
		w.c.cl.ResumeFetchPartitions(map[string][]int32{w.c.topic: {w.p}})
		w.paused = false
	}
}

// commitTimeout bounds one commit, which a stopping runtime still makes.
const commitTimeout = 10 * time.Second

// commit commits the position after the last record done with, if it
// moved.
func (w *partition) commit() {
	if w.dirty == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := w.c.cl.CommitRecords(ctx, w.last); err != nil {
		w.c.s.Logger.Warn("kafka commit failed; the partition's next reader starts from the last commit made",
			slog.String("function", w.c.s.Function), slog.String("stream", w.c.source), slog.Int("partition", int(w.p)),
			slog.Int64("offset", w.last.Offset+1), slog.Any("error", err))
		return
	}
	w.dirty = 0
}

// event maps a Kafka record to a stream record event. Its id is the
// record's ce_id header when it has one (the CloudEvents Kafka binding's,
// which a producer keeps when it writes the same event again), or
// <topic>-<partition>:<offset>, as Lambda's Kafka events are named; its
// source the stream, kafka://BROKERS/TOPIC, as Lambda names a self-managed
// cluster's; its time the record's timestamp; a traceparent header is its
// producer's trace.
func (c *consumer) event(r *kgo.Record) core.Event {
	rec := &core.Record{
		Stream: r.Topic, Partition: strconv.FormatInt(int64(r.Partition), 10), Key: string(r.Key),
		Sequence: strconv.FormatInt(r.Offset, 10), Data: r.Value,
	}
	if !r.Timestamp.IsZero() {
		rec.ArrivalTime = r.Timestamp.UTC()
	}
	for _, h := range r.Headers {
		if rec.Headers == nil {
			rec.Headers = map[string]string{}
		}
		rec.Headers[h.Key] = string(h.Value) // a header given twice keeps its last value
	}
	id := strings.TrimSpace(rec.Headers["ce_id"]) // as CloudEvents keeps an id
	if id == "" {
		id = r.Topic + "-" + rec.Partition + ":" + rec.Sequence
	}
	e, err := core.NewEvent(core.TypeRecord, id, c.source, rec)
	if err != nil { // cannot happen: the type and data match, the id is set
		panic(err)
	}
	if !rec.ArrivalTime.IsZero() {
		e.SetTime(rec.ArrivalTime)
	}
	if tp := rec.Headers["traceparent"]; tp != "" {
		e.SetExtension(core.TraceparentExtension, tp)
	}
	return e
}

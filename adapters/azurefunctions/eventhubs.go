package azurefunctions

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/polyfn/polyfn/core"
)

// BindingRecords is the name polyfn build gives an eventHubTrigger binding
// (a core.StreamTrigger), under which the handler looks up the batch first.
const BindingRecords = "records"

// nativeEventHubTrigger is the native type of stream record events.
const nativeEventHubTrigger = "eventHubTrigger"

// decodeRecords decodes an Event Hubs trigger's invocation: one record per
// event, in the partition's order. With "cardinality": "many" (what polyfn
// build writes) and "dataType": "binary", Data holds the JSON text of an
// array of the events' bodies in base64, and Metadata the binding data of
// the extension's EventHubTriggerBindingStrategy:
//
//	PartitionContext      {"FullyQualifiedNamespace", "EventHubName", "ConsumerGroup", "PartitionId", …}
//	SequenceNumberArray   [42, 43]                       (JSON text)
//	OffsetArray           ["4294967296", …]
//	EnqueuedTimeUtcArray  ["2026-11-21T10:30:00.123", …] (DateTimes without offset)
//	PartitionKeyArray     ["key-0", null]
//	PropertiesArray       [{"kind": "click"}, …]          (application properties)
//	SystemPropertiesArray [{"x-opt-sequence-number": 42, "message-id": …, …}, …]
//
// With "cardinality": "one" the same names without "Array" hold one event's.
// A record's id is its message-id system property when the producer set
// one, else "<partition>/<sequence number>", the same on every redelivery.
func decodeRecords(src source, payload json.RawMessage) (decoded, error) {
	pc, err := partitionContext(src.meta)
	if err != nil {
		return decoded{}, err
	}
	var bodies [][]byte
	var metas []metadata
	if jsonKind(payload) == '[' || src.meta.has("SequenceNumberArray", "OffsetArray", "EnqueuedTimeUtcArray") {
		if bodies, err = batchBodies(payload); err != nil {
			return decoded{}, fmt.Errorf("event batch: %w", err)
		}
		if metas, err = perItem(src.meta, len(bodies)); err != nil {
			return decoded{}, fmt.Errorf("event batch: %w", err)
		}
	} else {
		body, err := payloadBytes(payload)
		if err != nil {
			return decoded{}, fmt.Errorf("event body: %w", err)
		}
		bodies, metas = [][]byte{body}, []metadata{src.meta}
	}
	srcURI := src.uri()
	if pc.namespace != "" && pc.hub != "" {
		srcURI = "sb://" + pc.namespace + "/" + pc.hub
	}
	d := decoded{retry: retryOf(src.meta)}
	for i, body := range bodies {
		r, id, err := fromEventHubs(pc, metas[i], body)
		if err != nil {
			return decoded{}, fmt.Errorf("event %d of the batch: %w", i, err)
		}
		e, err := newEvent(core.TypeRecord, id, srcURI, r, "", r.ArrivalTime, nativeEventHubTrigger)
		if err != nil {
			return decoded{}, fmt.Errorf("event %d of the batch: %w", i, err)
		}
		if tr, ok := core.ParseTraceparent(r.Headers["Diagnostic-Id"]); ok {
			// The producer's trace, as the Event Hubs SDKs set it.
			e.SetExtension(core.TraceparentExtension, tr.Raw)
			if d.trace.IsZero() {
				d.trace = tr
			}
		}
		d.events = append(d.events, e)
	}
	return d, nil
}

// eventHubsPartition is the binding data's PartitionContext.
type eventHubsPartition struct {
	namespace, hub, consumerGroup, id string
}

func partitionContext(meta metadata) (eventHubsPartition, error) {
	v, ok := meta.get("PartitionContext")
	if !ok {
		return eventHubsPartition{}, fmt.Errorf("the invocation has no PartitionContext: want an Event Hubs trigger's binding data")
	}
	o, err := metaObject(v)
	if err != nil {
		return eventHubsPartition{}, fmt.Errorf("PartitionContext: %w", err)
	}
	m := metadata(o)
	pc := eventHubsPartition{namespace: m.str("FullyQualifiedNamespace"), hub: m.str("EventHubName"),
		consumerGroup: m.str("ConsumerGroup"), id: m.str("PartitionId")}
	if pc.id == "" {
		return eventHubsPartition{}, fmt.Errorf("PartitionContext has no PartitionId")
	}
	return pc, nil
}

// fromEventHubs is the record of one event and its id.
func fromEventHubs(pc eventHubsPartition, meta metadata, body []byte) (*core.Record, string, error) {
	var sys metadata
	if v, ok := meta.get("SystemProperties"); ok {
		o, err := metaObject(v)
		if err != nil {
			return nil, "", fmt.Errorf("SystemProperties: %w", err)
		}
		sys = metadata(o)
	}
	r := &core.Record{Stream: pc.hub, Partition: pc.id, Data: body}
	r.Sequence = meta.str("SequenceNumber")
	if r.Sequence == "" {
		r.Sequence = sys.str("x-opt-sequence-number", "SequenceNumber")
	}
	if _, err := strconv.ParseInt(r.Sequence, 10, 64); err != nil {
		return nil, "", fmt.Errorf("SequenceNumber: want an integer, got %q", r.Sequence)
	}
	r.Offset = meta.str("Offset")
	if r.Offset == "" {
		r.Offset = sys.str("x-opt-offset", "Offset")
	}
	r.Key = meta.str("PartitionKey")
	if r.Key == "" {
		r.Key = sys.str("x-opt-partition-key", "PartitionKey")
	}
	r.ArrivalTime = meta.time("EnqueuedTimeUtc")
	if r.ArrivalTime.IsZero() {
		r.ArrivalTime = sys.time("x-opt-enqueued-time", "EnqueuedTimeUtc")
	}
	if v, ok := meta.get("Properties"); ok {
		h, err := properties(v)
		if err != nil {
			return nil, "", fmt.Errorf("Properties: %w", err)
		}
		if len(h) > 0 {
			r.Headers = h
		}
	}
	id := sys.str("message-id")
	if id == "" {
		id = r.Partition + "/" + r.Sequence
	}
	return r, id, nil
}

// retryContext is the RetryContext the host sends when a function's retry
// policy reruns an invocation: which rerun it is (0: the first attempt)
// and how many the policy allows (-1: no limit).
type retryContext struct {
	count, max int
}

// last reports whether the attempt is the policy's last: after it the host
// checkpoints past the batch whatever its outcome.
func (r retryContext) last() bool { return r.max >= 0 && r.count >= r.max }

// retryOf reads Metadata.RetryContext. A first attempt carries none: its
// policy is unknown, and it is not taken for the last.
func retryOf(meta metadata) retryContext {
	v, ok := meta.get("RetryContext")
	if !ok {
		return retryContext{max: -1}
	}
	o, err := metaObject(v)
	if err != nil {
		return retryContext{max: -1}
	}
	count, err1 := metaInt(metadata(o).raw("RetryCount"))
	max, err2 := metaInt(metadata(o).raw("MaxRetryCount"))
	if err1 != nil || count < 0 || count > 1<<31-1 {
		return retryContext{max: -1}
	}
	if err2 != nil || max < -1 || max > 1<<31-1 {
		max = -1
	}
	return retryContext{count: int(count), max: int(max)}
}

// raw returns the value of key, or JSON null when absent.
func (m metadata) raw(key string) json.RawMessage {
	if v, ok := m.get(key); ok {
		return v
	}
	return json.RawMessage("null")
}

// streamResume remembers, per function and partition, where a failed batch
// of records stopped, so that the retry policy's rerun of the same batch
// (the host replays it whole, and checkpoints only once the policy is done)
// starts the function at the record that failed instead of again at the
// batch's first. It holds one entry per partition whose last batch failed.
type streamResume struct {
	mu sync.Mutex
	at map[string]resumePoint
}

// resumePoint is where a failed batch stopped: the batch's first sequence
// number and the failed record's.
type resumePoint struct {
	first, failed int64
}

func resumeKey(fn, partition string) string { return fn + "\x00" + partition }

// seq is a record event's sequence number; the decoder has checked it.
func seq(e core.Event) int64 {
	n, _ := strconv.ParseInt(e.Record.Sequence, 10, 64)
	return n
}

// skipDone returns the records of a rerun (retry > 0) of the batch that
// last failed in fn's partition without those that succeeded then: the
// batch from its failed record on. A first attempt, or another batch, is
// returned whole.
func (s *streamResume) skipDone(fn string, retry retryContext, events []core.Event) []core.Event {
	if len(events) == 0 {
		return events
	}
	s.mu.Lock()
	p, ok := s.at[resumeKey(fn, events[0].Record.Partition)]
	s.mu.Unlock()
	if !ok || retry.count == 0 || seq(events[0]) != p.first {
		return events
	}
	for i, e := range events {
		if seq(e) >= p.failed {
			return events[i:]
		}
	}
	return nil
}

// record notes the outcome of a batch of fn's partition: where it stopped
// when it failed (first is the first sequence number of the batch as the
// host sent it), nothing when it succeeded.
func (s *streamResume) record(fn, partition string, first int64, failed *core.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := resumeKey(fn, partition)
	if failed == nil {
		delete(s.at, k)
		return
	}
	if s.at == nil {
		s.at = map[string]resumePoint{}
	}
	s.at[k] = resumePoint{first: first, failed: seq(*failed)}
}

// recordsProblem is the reply to a failed batch of records: the problem,
// and the ids of the records the retry policy's next attempt hands the
// function (the failed one and every later one of the batch), none after
// its last attempt.
type recordsProblem struct {
	core.Problem
	Retry []string `json:"retry"`
}

// serveRecords runs the records of one Event Hubs invocation (one
// partition's batch) in order, stopping at the first failure, and fails
// the invocation then, so that the function's retry policy reruns the
// batch before the host checkpoints; the rerun starts at the failed record.
func (h *Handler) serveRecords(ctx context.Context, w http.ResponseWriter, fn function, events []core.Event, retry retryContext, logs *logBuffer) {
	if len(events) == 0 {
		writeReply(w, http.StatusOK, invocationReply{Outputs: map[string]any{}, Logs: logs.close()})
		return
	}
	partition, first := events[0].Record.Partition, seq(events[0])
	run := h.streams.skipDone(fn.name, retry, events)
	if skipped := len(events) - len(run); skipped > 0 {
		h.log.InfoContext(ctx, "azurefunctions: a retry of a failed batch resumes at its failed record",
			slog.String("function", fn.name), slog.String("partition", partition), slog.Int("skipped", skipped))
	}
	failures := core.ProcessBatch(ctx, fn.event.Handler, run, &core.BatchOptions{Ordered: true})
	if len(failures) == 0 {
		h.streams.record(fn.name, partition, first, nil)
		writeReply(w, http.StatusOK, invocationReply{Outputs: map[string]any{}, Logs: logs.close()})
		return
	}
	failed := run[failures[0].Index]
	h.streams.record(fn.name, partition, first, &failed)
	f := failures[0]
	h.log.ErrorContext(ctx, "azurefunctions: record failed; the batch stops and the retry policy reruns it from this record",
		slog.String("function", fn.name), slog.String("event_id", f.ID), slog.String("partition", partition),
		slog.String("sequence", failed.Record.Sequence), slog.String("code", core.CodeOf(f.Err).String()), slog.Any("error", f.Err))
	p := recordsProblem{Problem: problem(f.Err, fn.name), Retry: []string{}}
	for _, f := range failures {
		p.Retry = append(p.Retry, f.ID)
	}
	if retry.last() {
		h.log.ErrorContext(ctx, "azurefunctions: the retry policy's last attempt failed: the host checkpoints past the batch, and these records are not delivered again",
			slog.String("function", fn.name), slog.String("partition", partition), slog.Any("event_ids", p.Retry))
		p.Retry = []string{}
	}
	b, err := json.Marshal(p)
	if err != nil { // strings only: never fails
		core.WriteProblem(w, p.Problem)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(b, '\n'))
}

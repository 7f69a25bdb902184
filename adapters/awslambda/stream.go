package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/core"
)

// The event sources of Kafka payloads: Amazon MSK's and a self-managed
// cluster's.
const (
	sourceMSK              = "aws:kafka"
	sourceSelfManagedKafka = "SelfManagedKafka"
)

// kinesisEvent maps a Kinesis Data Streams record to a stream record
// event: its id is Lambda's eventID ("shardId-000000000000:<sequence>"),
// which names the shard; its source and stream the stream's ARN.
func kinesisEvent(raw []byte) (core.Event, error) {
	var r events.KinesisEventRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return core.Event{}, err
	}
	k := r.Kinesis
	shard, _, ok := strings.Cut(r.EventID, ":")
	if !ok || shard == "" || k.SequenceNumber == "" || r.EventSourceArn == "" {
		return core.Event{}, fmt.Errorf("no eventID of the form shardId-…:<sequence>, sequenceNumber or eventSourceARN")
	}
	rec := &core.Record{
		Stream: r.EventSourceArn, Partition: shard, Key: k.PartitionKey, Sequence: k.SequenceNumber,
		// Kinesis gives the arrival in seconds with milliseconds; the float
		// is rounded back to them.
		ArrivalTime: k.ApproximateArrivalTimestamp.Round(time.Millisecond).UTC(),
		Data:        k.Data,
	}
	if k.ApproximateArrivalTimestamp.IsZero() {
		rec.ArrivalTime = time.Time{}
	}
	return newEvent(core.TypeRecord, r.EventID, r.EventSourceArn, r.EventName, rec.ArrivalTime, rec), nil
}

// kafkaEvents maps an MSK or self-managed Kafka payload to stream record
// events, partition by partition (topic, then partition number) and in
// offset order within each, as Lambda lists them. Their source is the MSK
// cluster's ARN, or kafka://<bootstrap servers>/<topic> for a
// self-managed cluster; their ids <topic>-<partition>:<offset>.
func (p *payload) kafkaEvents() ([]core.Event, error) {
	var parts map[string][]events.KafkaRecord
	if err := json.Unmarshal(p.KafkaRecords, &parts); err != nil {
		return nil, core.Errorf(core.InvalidArgument, "awslambda: Kafka records: %v", err)
	}
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var evs []core.Event
	for _, k := range keys {
		for i, r := range parts[k] {
			e, err := p.kafkaEvent(r)
			if err != nil {
				return nil, core.Errorf(core.InvalidArgument, "awslambda: Kafka partition %s, record %d: %w", k, i, err)
			}
			evs = append(evs, e)
		}
	}
	// Partitions in numeric order within a topic ("t-10" after "t-9").
	slices.SortStableFunc(evs, func(a, b core.Event) int {
		if c := strings.Compare(a.Record.Stream, b.Record.Stream); c != 0 {
			return c
		}
		pa, _ := strconv.Atoi(a.Record.Partition)
		pb, _ := strconv.Atoi(b.Record.Partition)
		return pa - pb
	})
	return evs, nil
}

func (p *payload) kafkaEvent(r events.KafkaRecord) (core.Event, error) {
	if r.Topic == "" {
		return core.Event{}, fmt.Errorf("no topic")
	}
	key, err := base64.StdEncoding.DecodeString(r.Key)
	if err != nil {
		return core.Event{}, fmt.Errorf("key: %v", err)
	}
	data, err := base64.StdEncoding.DecodeString(r.Value)
	if err != nil {
		return core.Event{}, fmt.Errorf("value: %v", err)
	}
	rec := &core.Record{
		Stream: r.Topic, Partition: strconv.FormatInt(r.Partition, 10), Key: string(key),
		Sequence: strconv.FormatInt(r.Offset, 10), Data: data,
	}
	if r.Timestamp.UnixMilli() > 0 {
		rec.ArrivalTime = r.Timestamp.UTC()
	}
	for _, h := range r.Headers {
		for k, v := range h {
			if rec.Headers == nil {
				rec.Headers = map[string]string{}
			}
			rec.Headers[k] = string(v) // a header given twice keeps its last value
		}
	}
	source := p.EventSourceARN
	if p.EventSource == sourceSelfManagedKafka || source == "" {
		source = "kafka://" + p.BootstrapServers + "/" + r.Topic
	}
	id := r.Topic + "-" + rec.Partition + ":" + rec.Sequence
	return newEvent(core.TypeRecord, id, source, p.EventSource, rec.ArrivalTime, rec), nil
}

// partitionOf names the partition of a record event: the stream and its
// shard or partition.
func partitionOf(e core.Event) string { return e.Record.Stream + "\x00" + e.Record.Partition }

// processStream hands the records of a Kinesis or Kafka batch to deliver,
// partition by partition in the order the batch lists them (one after the
// other, not concurrently: a Kinesis batch holds one shard), each in
// order; a partition stops at its first failure, whose later records are
// reported unattempted. It returns the failures in batch order.
func processStream(ctx context.Context, h core.Handler, evs []core.Event) []core.Failure {
	var order []string
	parts := map[string][]int{}
	for i, e := range evs {
		p := partitionOf(e)
		if _, ok := parts[p]; !ok {
			order = append(order, p)
		}
		parts[p] = append(parts[p], i)
	}
	var failures []core.Failure
	for _, p := range order {
		idx := parts[p]
		batch := make([]core.Event, len(idx))
		for j, i := range idx {
			batch[j] = evs[i]
		}
		for _, f := range core.ProcessBatch(ctx, h, batch, &core.BatchOptions{Ordered: true}) {
			f.Index = idx[f.Index]
			failures = append(failures, f)
		}
	}
	slices.SortFunc(failures, func(a, b core.Failure) int { return a.Index - b.Index })
	return failures
}

// firstFailures returns, of each partition that failed, its first failed
// record: where Lambda resumes it.
func firstFailures(evs []core.Event, failures []core.Failure) []core.Event {
	seen := map[string]bool{}
	var first []core.Event
	for _, f := range failures {
		e := evs[f.Index]
		if p := partitionOf(e); !seen[p] {
			seen[p] = true
			first = append(first, e)
		}
	}
	return first
}

// kinesisResponse is the Kinesis partial batch response: the sequence
// number of each failed shard's first failed record, from which Lambda
// resumes the shard (with ReportBatchItemFailures on the event source
// mapping).
func kinesisResponse(evs []core.Event, failures []core.Failure) ([]byte, error) {
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	for _, e := range firstFailures(evs, failures) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: e.Record.Sequence})
	}
	return json.Marshal(resp)
}

// kafkaItemIdentifier names where Lambda resumes a Kafka partition: the
// records map's key ("<topic>-<partition>") and the first failed offset.
type kafkaItemIdentifier struct {
	Partition string `json:"partition"`
	Offset    int64  `json:"offset"`
}

type kafkaBatchItemFailure struct {
	ItemIdentifier kafkaItemIdentifier `json:"itemIdentifier"`
}

// kafkaBatchResponse is the Kafka partial batch response (with
// ReportBatchItemFailures on the event source mapping, which Lambda allows
// in provisioned mode): per failed topic-partition, its first failed
// offset.
func kafkaBatchResponse(evs []core.Event, failures []core.Failure) ([]byte, error) {
	resp := struct {
		BatchItemFailures []kafkaBatchItemFailure `json:"batchItemFailures"`
	}{BatchItemFailures: []kafkaBatchItemFailure{}}
	for _, e := range firstFailures(evs, failures) {
		off, err := strconv.ParseInt(e.Record.Sequence, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("awslambda: Kafka offset %q: %v", e.Record.Sequence, err)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures,
			kafkaBatchItemFailure{kafkaItemIdentifier{Partition: e.Record.Stream + "-" + e.Record.Partition, Offset: off}})
	}
	return json.Marshal(resp)
}

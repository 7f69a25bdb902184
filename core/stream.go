package core

import (
	"errors"
	"fmt"
	"time"
)

// Record is the data of a stream event: one record of a partitioned log (a
// Kinesis shard, a Kafka topic partition, an Event Hubs partition). A batch
// of records is delivered as one event per record, in the order of each
// partition; a StreamTrigger's batch stops at a partition's first failure,
// which is delivered again with every later record of that partition.
type Record struct {
	// Stream names the stream, topic or event hub, in the platform's form
	// (a Kinesis stream's ARN, a Kafka topic, an event hub's name).
	Stream string `json:"stream"`
	// Partition is the shard id (Kinesis), partition number (Kafka) or
	// partition id (Event Hubs) the record was read from.
	Partition string `json:"partition"`
	// Key is the record's partition key (Kinesis PartitionKey, the Kafka
	// record's key, Event Hubs' partition key), if any. A Kafka key is taken
	// as its bytes.
	Key string `json:"key,omitempty"`
	// Sequence orders the records of one partition: Kinesis's sequence
	// number, the Kafka offset, Event Hubs' sequence number, in decimal.
	Sequence string `json:"sequence"`
	// Offset is Event Hubs' offset, which differs from its sequence number;
	// empty elsewhere.
	Offset string `json:"offset,omitempty"`
	// ArrivalTime is when the stream accepted the record (Kinesis's
	// approximate arrival, the Kafka record's timestamp, Event Hubs'
	// enqueued time).
	ArrivalTime time.Time `json:"arrival_time,omitzero"`
	// Data is the record's payload, exactly as written.
	Data []byte `json:"data_base64"`
	// Headers are the record's headers (Kafka) or application properties
	// (Event Hubs); a Kafka header given twice keeps its last value.
	Headers map[string]string `json:"headers,omitempty"`
}

// StartingPosition is where a stream trigger starts reading a partition it
// has no checkpoint for.
type StartingPosition string

// The positions.
const (
	// StartLatest reads only records written after the trigger starts
	// (Kinesis LATEST, Kafka latest, Event Hubs' end of stream).
	StartLatest StartingPosition = "latest"
	// StartEarliest reads every record the stream still holds (Kinesis
	// TRIM_HORIZON, Kafka earliest, Event Hubs' start of stream).
	StartEarliest StartingPosition = "earliest"
)

// StreamTrigger delivers the records of a partitioned log in batches,
// keeping the order within each partition.
type StreamTrigger struct {
	// Stream is the environment variable that holds the stream's URL, such
	// as "CLICKS_STREAM_URL": kinesis://NAME (Kinesis Data Streams),
	// kafka://HOST:PORT[,HOST:PORT…]/TOPIC (Kafka: self-managed, Amazon MSK,
	// the local runtime), eventhubs://NAMESPACE/HUB (Event Hubs).
	Stream string `json:"stream"`
	// StartingPosition is where a new consumer starts; empty means
	// StartLatest.
	StartingPosition StartingPosition `json:"startingPosition,omitempty"`
	// BatchSize is the most records one invocation receives; zero means
	// 100.
	BatchSize int `json:"batchSize,omitempty"`
	// ConsumerGroup names the Kafka consumer group or Event Hubs consumer
	// group; empty means the function's unit name (Kafka) or $Default
	// (Event Hubs).
	ConsumerGroup string `json:"consumerGroup,omitempty"`
}

// Kinds implements Trigger.
func (StreamTrigger) Kinds() []Kind { return []Kind{KindRecord} }

// Position returns the starting position, StartLatest when unset.
func (t StreamTrigger) Position() StartingPosition {
	if t.StartingPosition == "" {
		return StartLatest
	}
	return t.StartingPosition
}

// Batch returns the batch size, 100 when unset.
func (t StreamTrigger) Batch() int {
	if t.BatchSize == 0 {
		return 100
	}
	return t.BatchSize
}

func (t StreamTrigger) validate() error {
	if err := checkEnv("Stream", t.Stream); err != nil {
		return err
	}
	switch t.StartingPosition {
	case "", StartLatest, StartEarliest:
	default:
		return fmt.Errorf("stream trigger: starting position %q: want %q or %q", t.StartingPosition, StartLatest, StartEarliest)
	}
	if t.BatchSize < 0 || t.BatchSize > 10000 {
		return errors.New("stream trigger: BatchSize must be between 1 and 10000")
	}
	return nil
}

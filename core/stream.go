package core

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
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

// The schemes of stream URLs.
const (
	SchemeKinesis   = "kinesis"
	SchemeKafka     = "kafka"
	SchemeEventHubs = "eventhubs"
)

// StreamURL is a stream trigger's URL, parsed by ParseStreamURL.
type StreamURL struct {
	// Scheme is SchemeKinesis, SchemeKafka or SchemeEventHubs.
	Scheme string
	// Brokers are a Kafka URL's bootstrap brokers, HOST:PORT each, in the
	// order written.
	Brokers []string
	// Namespace is an Event Hubs URL's namespace as written: its name, or
	// its host name (NAME.servicebus.windows.net).
	Namespace string
	// Name is the Kinesis stream's name, the Kafka topic or the event hub's
	// name.
	Name string
	// Query holds the URL's parameters, which each platform reads (a
	// Kinesis stream's region); never nil.
	Query url.Values
}

// ParseStreamURL parses a stream trigger's URL, one of
//
//	kinesis://NAME[?region=REGION]
//	kafka://HOST:PORT[,HOST:PORT…]/TOPIC
//	eventhubs://NAMESPACE/HUB
//
// and fails, naming the URL without its query (which may hold a secret),
// on another scheme or a malformed one.
func ParseStreamURL(raw string) (StreamURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	rest, query, _ := strings.Cut(rest, "?")
	bad := func(format string, args ...any) (StreamURL, error) {
		return StreamURL{}, fmt.Errorf("core: stream URL %s: %s", scheme+"://"+rest, fmt.Sprintf(format, args...))
	}
	if !ok {
		return StreamURL{}, fmt.Errorf("core: stream URL %q: want kinesis://NAME, kafka://HOST:PORT/TOPIC or eventhubs://NAMESPACE/HUB", strings.SplitN(raw, "?", 2)[0])
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return bad("query: %v", err)
	}
	u := StreamURL{Scheme: scheme, Query: q}
	host, path, _ := strings.Cut(rest, "/")
	switch scheme {
	case SchemeKinesis:
		// https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
		if path != "" || !validStreamName(host, 128) {
			return bad("want kinesis://NAME, a stream name of 1 to 128 letters, digits, '_', '-' and '.'")
		}
		u.Name = host
	case SchemeKafka:
		if host == "" {
			return bad("no broker: want kafka://HOST:PORT[,HOST:PORT…]/TOPIC")
		}
		for _, b := range strings.Split(host, ",") {
			h, port, err := net.SplitHostPort(b)
			if n, perr := strconv.Atoi(port); err != nil || h == "" || perr != nil || n < 1 || n > 65535 {
				return bad("broker %q: want HOST:PORT", b)
			}
			u.Brokers = append(u.Brokers, b)
		}
		// Kafka's topic names: https://kafka.apache.org/documentation/#topicconfigs
		// (Topic.java: at most 249 of [a-zA-Z0-9._-], not "." or "..").
		if !validStreamName(path, 249) || path == "." || path == ".." {
			return bad("topic %q: want 1 to 249 letters, digits, '_', '-' and '.'", path)
		}
		u.Name = path
	case SchemeEventHubs:
		// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsofteventhub
		if host == "" || !validStreamName(host, 256) {
			return bad("namespace %q: want eventhubs://NAMESPACE/HUB", host)
		}
		if !validStreamName(path, 256) {
			return bad("event hub %q: want 1 to 256 letters, digits, '_', '-' and '.'", path)
		}
		u.Namespace, u.Name = host, path
	default:
		return bad("unknown scheme %q: want %s://, %s:// or %s://", scheme, SchemeKinesis, SchemeKafka, SchemeEventHubs)
	}
	return u, nil
}

// validStreamName reports whether s is 1 to max ASCII letters, digits,
// '_', '-' and '.'.
func validStreamName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// String writes the URL back, its query included.
func (u StreamURL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	switch u.Scheme {
	case SchemeKafka:
		b.WriteString(strings.Join(u.Brokers, ",") + "/" + u.Name)
	case SchemeEventHubs:
		b.WriteString(u.Namespace + "/" + u.Name)
	default:
		b.WriteString(u.Name)
	}
	if len(u.Query) > 0 {
		b.WriteString("?" + u.Query.Encode())
	}
	return b.String()
}

package aws

import (
	"fmt"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// A stream trigger's stream is a Kinesis data stream (the default), an
// Amazon MSK cluster's topic (polyfn build --scheme VAR=msk) or a
// self-managed Kafka cluster's (--scheme VAR=kafka): the URL kafka://…
// does not tell MSK from a cluster of one's own, and the template is
// rendered without the URL. Each takes the parameters streamForms lists,
// which fill the variable's URL and its grants' ${Name} and ${Arn}.
var streamForms = map[string][]paramForm{
	core.SchemeKinesis: {{"Name", "Name", "the Kinesis data stream's name, in the stack's account and region", "^[A-Za-z0-9_.-]{1,128}$"}},
	deploy.MSKScheme: {
		{"ClusterArn", "Arn", "the MSK cluster's ARN", "^arn:[a-z-]+:kafka:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9-]+/[A-Za-z0-9-]+$"},
		{"Topic", "Name", "the Kafka topic", "^[A-Za-z0-9_.-]{1,249}$"},
		{"Brokers", "Brokers", "the cluster's bootstrap brokers, HOST:PORT separated by commas (for the function's URL of the stream)", brokersPattern},
	},
	core.SchemeKafka: {
		{"Topic", "Name", "the Kafka topic", "^[A-Za-z0-9_.-]{1,249}$"},
		{"Brokers", "Brokers", "the cluster's bootstrap brokers, HOST:PORT separated by commas", brokersPattern},
	},
}

const brokersPattern = "^[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*$"

// streamURLs are the stream URLs (core.ParseStreamURL) of each scheme. An
// MSK topic's URL names the cluster in its msk parameter.
var streamURLs = map[string]string{
	core.SchemeKinesis: "kinesis://${Name}?region=${AWS::Region}",
	deploy.MSKScheme:   "kafka://${Brokers}/${Name}?msk=${Arn}",
	core.SchemeKafka:   "kafka://${Brokers}/${Name}",
}

// startingPositions are Lambda's names of the starting positions, the same
// for Kinesis and Kafka.
var startingPositions = map[core.StartingPosition]string{
	core.StartLatest:   "LATEST",
	core.StartEarliest: "TRIM_HORIZON",
}

// streamRetries is how many times Lambda retries a failing stream batch
// before it sends the batch's description to the on-failure queue and
// moves on, as for a DynamoDB stream: Lambda's default, retrying until the
// record expires, would hold the partition up for days.
const streamRetries = 5

// bindStream declares the parameters of a stream trigger's stream, as
// required ones, since its event source mapping needs them, and binds its
// variable to its URL.
func (r *renderer) bindStream(u deploy.Unit) error {
	env := u.Stream.Stream
	if _, ok := r.bindings[env]; ok {
		return nil // another function reads the same stream
	}
	scheme := r.streamScheme(env)
	forms, ok := streamForms[scheme]
	if !ok {
		return fmt.Errorf("aws: unit %s, %s: a stream behind %s:// has no AWS form: want %s, %s or %s (polyfn build --scheme %s=…)",
			u.Name, env, scheme, core.SchemeKinesis, deploy.MSKScheme, core.SchemeKafka, env)
	}
	b := &binding{vars: map[string]any{}}
	for _, f := range forms {
		id := varID(env) + f.suffix
		if err := r.param(id, env+": "+f.description, false, f.pattern); err != nil {
			return err
		}
		b.vars[f.placeholder] = ref(id)
	}
	b.url = sub(streamURLs[scheme], b.vars)
	r.bindings[env] = b
	return nil
}

func (r *renderer) streamScheme(env string) string {
	if g := r.opts.Grants; g != nil && g.Schemes[env] != "" {
		return g.Schemes[env]
	}
	return deploy.DefaultScheme(deploy.AWS, core.KindStream)
}

// KinesisEvent is a Kinesis data stream event source mapping.
type KinesisEvent struct {
	Stream                     any               `json:"Stream"`
	StartingPosition           string            `json:"StartingPosition"`
	BatchSize                  int               `json:"BatchSize"`
	MaximumRetryAttempts       int               `json:"MaximumRetryAttempts"`
	BisectBatchOnFunctionError bool              `json:"BisectBatchOnFunctionError"`
	FunctionResponseTypes      []string          `json:"FunctionResponseTypes"`
	DestinationConfig          DestinationConfig `json:"DestinationConfig"`
}

// EventSourceMapping is an AWS::Lambda::EventSourceMapping: a Kafka
// topic's, which the template declares itself rather than as a SAM event,
// for the properties of partial batch responses (provisioned mode).
type EventSourceMapping struct {
	FunctionName                        any                      `json:"FunctionName"`
	EventSourceArn                      any                      `json:"EventSourceArn,omitempty"`
	SelfManagedEventSource              *SelfManagedEventSource  `json:"SelfManagedEventSource,omitempty"`
	Topics                              []any                    `json:"Topics"`
	StartingPosition                    string                   `json:"StartingPosition"`
	BatchSize                           int                      `json:"BatchSize"`
	AmazonManagedKafkaEventSourceConfig *KafkaEventSourceConfig  `json:"AmazonManagedKafkaEventSourceConfig,omitempty"`
	SelfManagedKafkaEventSourceConfig   *KafkaEventSourceConfig  `json:"SelfManagedKafkaEventSourceConfig,omitempty"`
	FunctionResponseTypes               []string                 `json:"FunctionResponseTypes"`
	ProvisionedPollerConfig             *ProvisionedPollerConfig `json:"ProvisionedPollerConfig,omitempty"`
	MaximumRetryAttempts                int                      `json:"MaximumRetryAttempts"`
	BisectBatchOnFunctionError          bool                     `json:"BisectBatchOnFunctionError"`
	DestinationConfig                   *DestinationConfig       `json:"DestinationConfig,omitempty"`
}

// SelfManagedEventSource names a self-managed Kafka cluster's brokers.
type SelfManagedEventSource struct {
	Endpoints struct {
		KafkaBootstrapServers any `json:"KafkaBootstrapServers"`
	} `json:"Endpoints"`
}

// KafkaEventSourceConfig names the consumer group a Kafka mapping joins.
type KafkaEventSourceConfig struct {
	ConsumerGroupID string `json:"ConsumerGroupId"`
}

// ProvisionedPollerConfig keeps pollers for a mapping (provisioned mode).
type ProvisionedPollerConfig struct {
	MinimumPollers int `json:"MinimumPollers"`
	MaximumPollers int `json:"MaximumPollers"`
}

// Split is Fn::Split [delimiter, source].
type Split struct {
	Split []any `json:"Fn::Split"`
}

// streamEvents adds the event source mapping of a stream unit: a SAM
// Kinesis event, or an EventSourceMapping of an MSK or self-managed Kafka
// topic; failed batches that Lambda gives up on are described on the
// unit's failures queue (dest, which st grants). Every mapping reports
// partial batch failures (ReportBatchItemFailures): the adapter's reply
// names each partition's first failure, where Lambda resumes it.
func (r *renderer) streamEvents(u deploy.Unit, fn *Function, eid string, dest any) error {
	s := u.Stream
	b := r.bindings[s.Stream]
	pos, ok := startingPositions[s.StartingPosition]
	if !ok {
		return fmt.Errorf("aws: unit %s: starting position %q", u.Name, s.StartingPosition)
	}
	scheme := r.streamScheme(s.Stream)
	if scheme == core.SchemeKinesis {
		fn.Events[eid] = Event{Type: "Kinesis", Properties: KinesisEvent{
			Stream:           sub("arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/${Name}", map[string]any{"Name": b.vars["Name"]}),
			StartingPosition: pos, BatchSize: s.BatchSize, MaximumRetryAttempts: streamRetries,
			BisectBatchOnFunctionError: true,
			FunctionResponseTypes:      []string{"ReportBatchItemFailures"},
			DestinationConfig:          DestinationConfig{OnFailure: OnFailure{Destination: dest}},
		}}
		return nil
	}
	id := logicalID(u.Name)
	m := EventSourceMapping{
		FunctionName: ref(id + "Function"), Topics: []any{b.vars["Name"]}, StartingPosition: pos, BatchSize: s.BatchSize,
		// Lambda takes a Kafka mapping's partial batch responses, retry
		// limit and on-failure destination in provisioned mode only
		// (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html).
		FunctionResponseTypes:   []string{"ReportBatchItemFailures"},
		ProvisionedPollerConfig: &ProvisionedPollerConfig{MinimumPollers: 1, MaximumPollers: 200},
		MaximumRetryAttempts:    streamRetries, BisectBatchOnFunctionError: true,
		DestinationConfig: &DestinationConfig{OnFailure: OnFailure{Destination: dest}},
	}
	group := &KafkaEventSourceConfig{ConsumerGroupID: s.KafkaGroup}
	if scheme == deploy.MSKScheme {
		m.EventSourceArn, m.AmazonManagedKafkaEventSourceConfig = b.vars["Arn"], group
	} else {
		m.SelfManagedEventSource = &SelfManagedEventSource{}
		m.SelfManagedEventSource.Endpoints.KafkaBootstrapServers = Split{[]any{",", b.vars["Brokers"]}}
		m.SelfManagedKafkaEventSourceConfig = group
	}
	return r.resource(id+"Mapping", "the event source mapping of unit "+u.Name, "AWS::Lambda::EventSourceMapping", m)
}

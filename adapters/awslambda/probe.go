package awslambda

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// shape is the kind of payload Lambda delivered.
type shape int

const (
	shapeUnknown shape = iota
	shapeAPIGatewayV1
	shapeAPIGatewayV2
	shapeFunctionURL
	shapeALB
	shapeS3
	shapeSQS
	shapeSNS
	shapeDynamoDB
	shapeEventBridge
	shapeScheduler
	shapeKinesis
	shapeKafka
)

var shapeNames = [...]string{
	shapeUnknown:      "unknown",
	shapeAPIGatewayV1: "API Gateway REST (payload 1.0)",
	shapeAPIGatewayV2: "API Gateway HTTP API (payload 2.0)",
	shapeFunctionURL:  "Lambda function URL",
	shapeALB:          "ALB target group",
	shapeS3:           "S3",
	shapeSQS:          "SQS",
	shapeSNS:          "SNS",
	shapeDynamoDB:     "DynamoDB Streams",
	shapeEventBridge:  "EventBridge",
	shapeScheduler:    "EventBridge Scheduler",
	shapeKinesis:      "Kinesis Data Streams",
	shapeKafka:        "Kafka (Amazon MSK or self-managed)",
}

func (s shape) String() string { return shapeNames[s] }

func (s shape) isHTTP() bool {
	return s == shapeAPIGatewayV1 || s == shapeAPIGatewayV2 || s == shapeFunctionURL || s == shapeALB
}

// payload is the one probe of an invocation's JSON. It holds the fields that
// tell the shapes apart and, because HTTP is the latency-critical path, every
// field an HTTP request is built from, so that an HTTP invocation is decoded
// in this single pass. Records stay raw until their shape is known.
//
// encoding/json matches keys case-insensitively, which lets one field read
// both S3's "eventSource" and SNS's "EventSource".
type payload struct {
	// HTTP: API Gateway REST (v1), HTTP API (v2), function URLs, ALB.
	Version            string              `json:"version"`
	HTTPMethod         string              `json:"httpMethod"`
	Path               string              `json:"path"`
	RawPath            string              `json:"rawPath"`
	RawQueryString     string              `json:"rawQueryString"`
	Cookies            []string            `json:"cookies"`
	Headers            map[string]string   `json:"headers"`
	MultiValueHeaders  map[string][]string `json:"multiValueHeaders"`
	Query              map[string]string   `json:"queryStringParameters"`
	MultiValueQuery    map[string][]string `json:"multiValueQueryStringParameters"`
	RequestContext     *requestContext     `json:"requestContext"`
	Body               string              `json:"body"`
	IsBase64Encoded    bool                `json:"isBase64Encoded"`
	Records            []record            `json:"Records"`
	DetailType         string              `json:"detail-type"`
	Source             string              `json:"source"`
	ID                 string              `json:"id"`
	Time               string              `json:"time"`
	Account            string              `json:"account"`
	Region             string              `json:"region"`
	Resources          []string            `json:"resources"`
	Detail             json.RawMessage     `json:"detail"`
	SchedulerJob       string              `json:"job"`
	SchedulerTime      string              `json:"scheduled_at"`
	SchedulerARN       string              `json:"schedule_arn"`
	SchedulerExecution string              `json:"execution_id"`
	SchedulerAttempt   json.RawMessage     `json:"attempt"`
	// Kafka (MSK, self-managed): "records" is an object of partitions,
	// which this field takes by its exact name before Records could.
	EventSource      string          `json:"eventSource"`
	EventSourceARN   string          `json:"eventSourceArn"`
	BootstrapServers string          `json:"bootstrapServers"`
	KafkaRecords     json.RawMessage `json:"records"`
}

// requestContext is the union of the HTTP shapes' request contexts.
type requestContext struct {
	RequestID  string `json:"requestId"`
	Stage      string `json:"stage"`
	DomainName string `json:"domainName"`
	Identity   struct {
		SourceIP string `json:"sourceIp"`
	} `json:"identity"`
	HTTP struct {
		Method   string `json:"method"`
		Protocol string `json:"protocol"`
		SourceIP string `json:"sourceIp"`
	} `json:"http"`
	ELB *struct {
		TargetGroupARN string `json:"targetGroupArn"`
	} `json:"elb"`
	// Authorizer is what API Gateway's authorizer verified, kept raw until
	// the request is built (authorizer.go).
	Authorizer json.RawMessage `json:"authorizer"`
}

// record is one element of Records: its event source, read in the probe,
// and its JSON, decoded into the source's record type afterwards.
type record struct {
	source string
	raw    []byte
}

func (r *record) UnmarshalJSON(b []byte) error {
	var head struct {
		EventSource string `json:"eventSource"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	r.source, r.raw = head.EventSource, bytes.Clone(b)
	return nil
}

var shapeOfSource = map[string]shape{
	"aws:s3":       shapeS3,
	"aws:sqs":      shapeSQS,
	"aws:sns":      shapeSNS,
	"aws:dynamodb": shapeDynamoDB,
	"aws:kinesis":  shapeKinesis,
}

// probe decodes b once and names its shape. Every error has the code
// InvalidArgument: the payload is not one polyfn understands.
func probe(b []byte) (*payload, shape, error) {
	p := new(payload)
	if err := json.Unmarshal(b, p); err != nil {
		return nil, shapeUnknown, core.Errorf(core.InvalidArgument, "awslambda: the payload is not a JSON object of a known event: %v", err)
	}
	s, err := p.shape()
	if err != nil {
		return nil, shapeUnknown, err
	}
	return p, s, nil
}

func (p *payload) shape() (shape, error) {
	rc := p.RequestContext
	switch {
	case p.KafkaRecords != nil && (p.EventSource == sourceMSK || p.EventSource == sourceSelfManagedKafka):
		return shapeKafka, nil
	case p.Records != nil:
		return p.recordsShape()
	case rc != nil && rc.ELB != nil:
		return shapeALB, nil
	case p.Version == "2.0" && rc != nil && rc.HTTP.Method != "":
		// Function URLs send the HTTP API's payload 2.0 from their own domain.
		if strings.Contains(rc.DomainName, ".lambda-url.") {
			return shapeFunctionURL, nil
		}
		return shapeAPIGatewayV2, nil
	case p.HTTPMethod != "" && rc != nil:
		return shapeAPIGatewayV1, nil
	case p.DetailType != "" && p.Source != "":
		return shapeEventBridge, nil
	case p.SchedulerARN != "" && p.SchedulerJob != "":
		return shapeScheduler, nil
	}
	return shapeUnknown, core.Errorf(core.InvalidArgument,
		"awslambda: the payload is not an event polyfn knows: no Records, Kafka records, HTTP request, EventBridge event or polyfn schedule input")
}

// recordsShape names the shape of a Records payload: every record must come
// from the same known source.
func (p *payload) recordsShape() (shape, error) {
	if len(p.Records) == 0 {
		return shapeUnknown, core.Errorf(core.InvalidArgument, "awslambda: the payload's Records are empty")
	}
	src := p.Records[0].source
	s, ok := shapeOfSource[src]
	if !ok {
		return shapeUnknown, core.Errorf(core.InvalidArgument, "awslambda: records from event source %q are not supported", src)
	}
	for i, r := range p.Records {
		if r.source != src {
			return shapeUnknown, core.Errorf(core.InvalidArgument,
				"awslambda: record %d comes from %q, record 0 from %q: one invocation has one event source", i, r.source, src)
		}
	}
	return s, nil
}

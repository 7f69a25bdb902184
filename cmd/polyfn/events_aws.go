package main

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// The account, region and resource names of the AWS samples.
const (
	awsRegion  = "eu-west-1"
	awsAccount = "123456789012"
)

func awsARN(service, resource string) string {
	return "arn:aws:" + service + ":" + awsRegion + ":" + awsAccount + ":" + resource
}

// newUUID is a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// awsSQS is an SQS batch of one message, as Lambda's event source mapping
// delivers it.
func awsSQS(p eventParams) (any, error) {
	ms := strconv.FormatInt(p.now.UnixMilli(), 10)
	return events.SQSEvent{Records: []events.SQSMessage{{
		MessageId:     newUUID(),
		ReceiptHandle: "AQEB" + randomHex(48),
		Body:          string(p.body),
		Md5OfBody:     md5Hex(p.body),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    ms,
			"SenderId":                         "AIDAIENQZJOLO23YVJ4VO",
			"ApproximateFirstReceiveTimestamp": ms,
		},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSourceARN:    awsARN("sqs", "orders"),
		EventSource:       "aws:sqs",
		AWSRegion:         awsRegion,
	}}}, nil
}

// awsSNS is an SNS notification as SNS invokes a subscribed function.
func awsSNS(p eventParams) (any, error) {
	topic := awsARN("sns", "orders")
	return events.SNSEvent{Records: []events.SNSEventRecord{{
		EventVersion:         "1.0",
		EventSubscriptionArn: topic + ":" + newUUID(),
		EventSource:          "aws:sns",
		SNS: events.SNSEntity{
			Type:              "Notification",
			MessageID:         newUUID(),
			TopicArn:          topic,
			Subject:           "",
			Message:           string(p.body),
			Timestamp:         p.now,
			SignatureVersion:  "1",
			Signature:         "EXAMPLE",
			SigningCertURL:    "https://sns." + awsRegion + ".amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
			UnsubscribeURL:    "https://sns." + awsRegion + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic,
			MessageAttributes: map[string]any{},
		},
	}}}, nil
}

// s3Key is an object key as S3 notifications carry it: form-encoded,
// a space as "+", slashes kept.
func s3Key(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// s3Record is an S3 event record as S3 sends it: aws-lambda-go's, whose
// object (shadowed here, as encoding/json takes the shallower field) has
// no urlDecodedKey, a member of the SDK's own that S3 does not send.
type s3Record struct {
	events.S3EventRecord
	S3 s3Entity `json:"s3"`
}

type s3Entity struct {
	SchemaVersion   string          `json:"s3SchemaVersion"`
	ConfigurationID string          `json:"configurationId"`
	Bucket          events.S3Bucket `json:"bucket"`
	Object          s3Object        `json:"object"`
}

type s3Object struct {
	Key       string `json:"key"`
	Size      int64  `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId"`
	Sequencer string `json:"sequencer"`
}

// awsS3 is an S3 event notification of one object.
func awsS3(p eventParams) (any, error) {
	r := s3Record{S3EventRecord: events.S3EventRecord{
		EventVersion:      "2.1",
		EventSource:       "aws:s3",
		AWSRegion:         awsRegion,
		EventTime:         p.now,
		PrincipalID:       events.S3UserIdentity{PrincipalID: "AWS:AIDAINPONIXQXHT3IKHL2"},
		RequestParameters: events.S3RequestParameters{SourceIPAddress: "203.0.113.7"},
		ResponseElements: map[string]string{
			"x-amz-request-id": randomHex(8),
			"x-amz-id-2":       "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
		},
	}, S3: s3Entity{
		SchemaVersion:   "1.0",
		ConfigurationID: "polyfn",
		Bucket: events.S3Bucket{Name: p.bucket, OwnerIdentity: events.S3UserIdentity{PrincipalID: "A3NL1KOZZKExample"},
			Arn: "arn:aws:s3:::" + p.bucket},
		Object: s3Object{Key: s3Key(p.key), VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko", Sequencer: "0055AED6DCD90281E5"},
	}}
	size := int64(1024)
	switch p.kind {
	case "object_created":
		r.EventName = "ObjectCreated:Put"
		r.S3.Object.Size, r.S3.Object.ETag = size, "d41d8cd98f00b204e9800998ecf8427e"
	case "object_deleted":
		r.EventName = "ObjectRemoved:Delete"
	case "object_restored":
		r.EventName = "ObjectRestore:Completed"
		r.PrincipalID.PrincipalID, r.RequestParameters.SourceIPAddress = "s3.amazonaws.com", "s3.amazonaws.com"
		r.S3.Object.Size, r.S3.Object.ETag = size, "d41d8cd98f00b204e9800998ecf8427e"
		r.GlacierEventData = &events.S3GlacierEventData{RestoreEventData: &events.S3RestoreEventData{
			LifecycleRestorationExpiryTime: p.now.AddDate(0, 0, 7).Truncate(24 * 60 * 60e9),
			LifecycleRestoreStorageClass:   "GLACIER",
		}}
	case "object_tiered":
		r.EventName = "LifecycleTransition"
		r.EventVersion = "2.3"
		r.PrincipalID.PrincipalID, r.RequestParameters.SourceIPAddress = "s3.amazonaws.com", "s3.amazonaws.com"
		r.S3.Object.Size, r.S3.Object.ETag = size, "d41d8cd98f00b204e9800998ecf8427e"
		r.LifecycleEventData = &events.S3LifecycleEventData{TransitionEventData: &events.S3TransitionEventData{DestinationStorageClass: "GLACIER"}}
	default:
		return nil, fmt.Errorf("s3 sends no %q events", p.kind)
	}
	return struct {
		Records []s3Record `json:"Records"`
	}{[]s3Record{r}}, nil
}

// dynamoItem converts a JSON object to DynamoDB attribute values, as
// DynamoDB's JSON mapping (and its SDKs' marshallers) store it.
func dynamoItem(doc []byte) (map[string]events.DynamoDBAttributeValue, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("--body: a DynamoDB item is a JSON object: %v", err)
	}
	out := map[string]events.DynamoDBAttributeValue{}
	for k, v := range m {
		out[k] = dynamoValue(v)
	}
	return out, nil
}

func dynamoValue(v any) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case nil:
		return events.NewNullAttribute()
	case bool:
		return events.NewBooleanAttribute(v)
	case json.Number:
		return events.NewNumberAttribute(v.String())
	case string:
		return events.NewStringAttribute(v)
	case []any:
		l := make([]events.DynamoDBAttributeValue, len(v))
		for i, e := range v {
			l[i] = dynamoValue(e)
		}
		return events.NewListAttribute(l)
	case map[string]any:
		m := map[string]events.DynamoDBAttributeValue{}
		for k, e := range v {
			m[k] = dynamoValue(e)
		}
		return events.NewMapAttribute(m)
	}
	panic(fmt.Sprintf("dynamoValue: %T", v)) // json.Decoder makes no other
}

// awsDynamoDB is a DynamoDB Streams INSERT of the --body item, keyed by
// its "id" (the first attribute when it has none).
func awsDynamoDB(p eventParams) (any, error) {
	item, err := dynamoItem(p.body)
	if err != nil {
		return nil, err
	}
	keyName := "id"
	if _, ok := item[keyName]; !ok {
		keyName = ""
		for k := range item {
			if keyName == "" || k < keyName {
				keyName = k
			}
		}
	}
	keys := map[string]events.DynamoDBAttributeValue{}
	if keyName != "" {
		keys[keyName] = item[keyName]
	}
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventID:      md5Hex([]byte(newUUID())),
		EventName:    "INSERT",
		EventVersion: "1.1",
		EventSource:  "aws:dynamodb",
		AWSRegion:    awsRegion,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: p.now.Truncate(1e9)},
			Keys:                        keys,
			NewImage:                    item,
			SequenceNumber:              strconv.FormatInt(p.now.UnixNano()/1000, 10),
			SizeBytes:                   int64(len(p.body)),
			StreamViewType:              "NEW_AND_OLD_IMAGES",
		},
		EventSourceArn: awsARN("dynamodb", "table/users/stream/"+p.now.Format("2006-01-02T15:04:05.000")),
	}}}, nil
}

// awsScheduled is the Scheduled Event an EventBridge schedule rule sends.
func awsScheduled(p eventParams) (any, error) {
	return events.CloudWatchEvent{
		Version:    "0",
		ID:         newUUID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  awsAccount,
		Time:       p.now.Truncate(60e9),
		Region:     awsRegion,
		Resources:  []string{awsARN("events", "rule/nightly-report")},
		Detail:     json.RawMessage(`{}`),
	}, nil
}

// awsKinesis is a Kinesis batch of one record.
func awsKinesis(p eventParams) (any, error) {
	seq := "49590338271490256608559692538361571095921575989136588898"
	return events.KinesisEvent{Records: []events.KinesisEventRecord{{
		AwsRegion:         awsRegion,
		EventID:           "shardId-000000000000:" + seq,
		EventName:         "aws:kinesis:record",
		EventSource:       "aws:kinesis",
		EventSourceArn:    awsARN("kinesis", "stream/clicks"),
		EventVersion:      "1.0",
		InvokeIdentityArn: awsARN("iam", "role/lambda-kinesis-role"),
		Kinesis: events.KinesisRecord{
			ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: p.now},
			Data:                        p.body,
			PartitionKey:                "user-1",
			SequenceNumber:              seq,
			KinesisSchemaVersion:        "1.0",
		},
	}}}, nil
}

// awsMSK is an Amazon MSK batch of one record, of partition 0 of topic
// "ledger".
func awsMSK(p eventParams) (any, error) {
	return events.KafkaEvent{
		EventSource:      "aws:kafka",
		EventSourceARN:   awsARN("kafka", "cluster/ledger/a1b2c3d4-5678-90ab-cdef-11111EXAMPLE-1"),
		BootstrapServers: "b-1.ledger.a1b2c3.c2.kafka." + awsRegion + ".amazonaws.com:9098",
		Records: map[string][]events.KafkaRecord{"ledger-0": {{
			Topic:         "ledger",
			Partition:     0,
			Offset:        7,
			Timestamp:     events.MilliSecondsEpochTime{Time: p.now},
			TimestampType: "CREATE_TIME",
			Key:           b64("acct-9"),
			Value:         b64(string(p.body)),
			Headers:       []map[string]events.JSONNumberBytes{},
		}}},
	}, nil
}

package aws

import "math"

// The properties of the resource types the templates create, as the
// CloudFormation and SAM references name them:
// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
// and https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html.

// Function is an AWS::Serverless::Function.
type Function struct {
	CodeURI                      string                        `json:"CodeUri"`
	Handler                      string                        `json:"Handler"`
	Runtime                      string                        `json:"Runtime"`
	Architectures                []string                      `json:"Architectures"`
	MemorySize                   int                           `json:"MemorySize"`
	Timeout                      int                           `json:"Timeout"`
	Role                         any                           `json:"Role"`
	Tracing                      string                        `json:"Tracing"`
	ReservedConcurrentExecutions int                           `json:"ReservedConcurrentExecutions,omitempty"`
	AutoPublishAlias             string                        `json:"AutoPublishAlias,omitempty"`
	ProvisionedConcurrencyConfig *ProvisionedConcurrencyConfig `json:"ProvisionedConcurrencyConfig,omitempty"`
	Environment                  Environment                   `json:"Environment"`
	EventInvokeConfig            *EventInvokeConfig            `json:"EventInvokeConfig,omitempty"`
	Events                       map[string]Event              `json:"Events,omitempty"`
	FunctionURLConfig            *FunctionURLConfig            `json:"FunctionUrlConfig,omitempty"`
}

// Permission is an AWS::Lambda::Permission.
type Permission struct {
	Action                string `json:"Action"`
	FunctionName          any    `json:"FunctionName"`
	Principal             string `json:"Principal"`
	InvokedViaFunctionURL bool   `json:"InvokedViaFunctionUrl,omitempty"`
}

// FunctionURLConfig is a SAM function's function URL (an AWS::Lambda::Url
// named <function's logical id>Url).
type FunctionURLConfig struct {
	AuthType   string `json:"AuthType"`
	InvokeMode string `json:"InvokeMode,omitempty"`
}

// ProvisionedConcurrencyConfig keeps instances initialised on the alias.
type ProvisionedConcurrencyConfig struct {
	ProvisionedConcurrentExecutions int `json:"ProvisionedConcurrentExecutions"`
}

// Environment holds a function's variables.
type Environment struct {
	Variables map[string]any `json:"Variables"`
}

// EventInvokeConfig configures asynchronous invocations.
type EventInvokeConfig struct {
	MaximumRetryAttempts int               `json:"MaximumRetryAttempts"`
	DestinationConfig    DestinationConfig `json:"DestinationConfig"`
}

// DestinationConfig names where failed events go.
type DestinationConfig struct {
	OnFailure OnFailure `json:"OnFailure"`
}

// OnFailure is an on-failure destination.
type OnFailure struct {
	Type        string `json:"Type,omitempty"`
	Destination any    `json:"Destination"`
}

// Event is an event source of a SAM function.
type Event struct {
	Type       string `json:"Type"`
	Properties any    `json:"Properties"`
}

// HTTPAPIEvent is an HttpApi event on the stack's implicit HTTP API.
type HTTPAPIEvent struct {
	Method string `json:"Method"`
	Path   string `json:"Path"`
}

// S3Event is an S3 event on a bucket of the template.
type S3Event struct {
	Bucket any       `json:"Bucket"`
	Events []string  `json:"Events"`
	Filter *S3Filter `json:"Filter,omitempty"`
}

// S3Filter filters notifications by key.
type S3Filter struct {
	S3Key S3Key `json:"S3Key"`
}

// S3Key holds the key rules.
type S3Key struct {
	Rules []NameValue `json:"Rules"`
}

// NameValue is a name and a value (a filter rule, a dimension).
type NameValue struct {
	Name  string `json:"Name"`
	Value any    `json:"Value"`
}

// SQSEvent is an SQS event source mapping.
type SQSEvent struct {
	Queue                 any      `json:"Queue"`
	BatchSize             int      `json:"BatchSize"`
	FunctionResponseTypes []string `json:"FunctionResponseTypes"`
}

// DynamoDBEvent is a DynamoDB stream event source mapping.
type DynamoDBEvent struct {
	Stream                     any               `json:"Stream"`
	StartingPosition           string            `json:"StartingPosition"`
	BatchSize                  int               `json:"BatchSize"`
	MaximumRetryAttempts       int               `json:"MaximumRetryAttempts"`
	BisectBatchOnFunctionError bool              `json:"BisectBatchOnFunctionError"`
	FunctionResponseTypes      []string          `json:"FunctionResponseTypes"`
	DestinationConfig          DestinationConfig `json:"DestinationConfig"`
}

// ScheduleV2Event is an EventBridge Scheduler schedule.
type ScheduleV2Event struct {
	ScheduleExpression         string `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string `json:"ScheduleExpressionTimezone,omitempty"`
	Input                      string `json:"Input"`
}

// Role is an AWS::IAM::Role.
type Role struct {
	AssumeRolePolicyDocument PolicyDocument `json:"AssumeRolePolicyDocument"`
	ManagedPolicyArns        []any          `json:"ManagedPolicyArns,omitempty"`
	Policies                 []any          `json:"Policies,omitempty"`
}

// Policy is an inline policy of a role.
type Policy struct {
	PolicyName     string         `json:"PolicyName"`
	PolicyDocument PolicyDocument `json:"PolicyDocument"`
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	QueueName                 any            `json:"QueueName,omitempty"`
	FifoQueue                 bool           `json:"FifoQueue,omitempty"`
	ContentBasedDeduplication bool           `json:"ContentBasedDeduplication,omitempty"`
	VisibilityTimeout         int            `json:"VisibilityTimeout,omitempty"`
	MessageRetentionPeriod    int            `json:"MessageRetentionPeriod"`
	RedrivePolicy             *RedrivePolicy `json:"RedrivePolicy,omitempty"`
}

// RedrivePolicy sends a message to the dead letter after maxReceiveCount
// receives.
type RedrivePolicy struct {
	DeadLetterTargetArn any `json:"deadLetterTargetArn"`
	MaxReceiveCount     int `json:"maxReceiveCount"`
}

// QueuePolicy is an AWS::SQS::QueuePolicy.
type QueuePolicy struct {
	Queues         []any          `json:"Queues"`
	PolicyDocument PolicyDocument `json:"PolicyDocument"`
}

// Topic is an AWS::SNS::Topic.
type Topic struct {
	TopicName                 any  `json:"TopicName,omitempty"`
	FifoTopic                 bool `json:"FifoTopic,omitempty"`
	ContentBasedDeduplication bool `json:"ContentBasedDeduplication,omitempty"`
}

// Subscription is an AWS::SNS::Subscription.
type Subscription struct {
	Protocol           string `json:"Protocol"`
	Endpoint           any    `json:"Endpoint"`
	TopicArn           any    `json:"TopicArn"`
	RawMessageDelivery bool   `json:"RawMessageDelivery,omitempty"`
}

// Bucket is an AWS::S3::Bucket.
type Bucket struct {
	BucketName                     any                             `json:"BucketName"`
	PublicAccessBlockConfiguration *PublicAccessBlockConfiguration `json:"PublicAccessBlockConfiguration,omitempty"`
}

// PublicAccessBlockConfiguration blocks public access to a bucket.
type PublicAccessBlockConfiguration struct {
	BlockPublicAcls       bool `json:"BlockPublicAcls"`
	BlockPublicPolicy     bool `json:"BlockPublicPolicy"`
	IgnorePublicAcls      bool `json:"IgnorePublicAcls"`
	RestrictPublicBuckets bool `json:"RestrictPublicBuckets"`
}

// Alarm is an AWS::CloudWatch::Alarm on one metric (Namespace,
// MetricName, Dimensions, a statistic) or on a metric math expression
// (Metrics).
type Alarm struct {
	AlarmDescription   string            `json:"AlarmDescription"`
	Namespace          string            `json:"Namespace,omitempty"`
	MetricName         string            `json:"MetricName,omitempty"`
	Dimensions         []NameValue       `json:"Dimensions,omitempty"`
	Statistic          string            `json:"Statistic,omitempty"`
	ExtendedStatistic  string            `json:"ExtendedStatistic,omitempty"`
	Period             int64             `json:"Period,omitempty"`
	Metrics            []MetricDataQuery `json:"Metrics,omitempty"`
	EvaluationPeriods  int               `json:"EvaluationPeriods"`
	DatapointsToAlarm  int               `json:"DatapointsToAlarm"`
	Threshold          Threshold         `json:"Threshold"`
	ComparisonOperator string            `json:"ComparisonOperator"`
	TreatMissingData   string            `json:"TreatMissingData"`
	AlarmActions       []any             `json:"AlarmActions,omitempty"`
	OKActions          []any             `json:"OKActions,omitempty"`
}

// MetricDataQuery is one metric or expression of a metric math alarm.
type MetricDataQuery struct {
	ID         string      `json:"Id"`
	Expression string      `json:"Expression,omitempty"`
	Label      string      `json:"Label,omitempty"`
	MetricStat *MetricStat `json:"MetricStat,omitempty"`
	ReturnData bool        `json:"ReturnData"`
}

// MetricStat is a metric and its statistic over a period.
type MetricStat struct {
	Metric Metric `json:"Metric"`
	Period int64  `json:"Period"`
	Stat   string `json:"Stat"`
}

// Metric names a metric.
type Metric struct {
	Namespace  string      `json:"Namespace"`
	MetricName string      `json:"MetricName"`
	Dimensions []NameValue `json:"Dimensions"`
}

// SlackChannelConfiguration is an AWS::Chatbot::SlackChannelConfiguration
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-chatbot-slackchannelconfiguration.html).
type SlackChannelConfiguration struct {
	ConfigurationName any    `json:"ConfigurationName"`
	IamRoleArn        any    `json:"IamRoleArn"`
	SlackWorkspaceID  string `json:"SlackWorkspaceId"`
	SlackChannelID    string `json:"SlackChannelId"`
	SnsTopicArns      []any  `json:"SnsTopicArns"`
	GuardrailPolicies []any  `json:"GuardrailPolicies"`
	LoggingLevel      string `json:"LoggingLevel"`
}

// Threshold is an alarm's threshold: a count, milliseconds or a
// percentage. It is written as an integer when it is one (2000, not
// 2000.0), as a decimal otherwise (2.5).
type Threshold float64

// MarshalYAML writes a whole threshold as an integer.
func (t Threshold) MarshalYAML() (any, error) {
	if f := float64(t); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f), nil
	}
	return float64(t), nil
}

package deploy

import "github.com/polyfn/polyfn/core"

// AWSStatement is an IAM policy statement. Its Resource patterns hold
// placeholders in CloudFormation's Fn::Sub syntax, which the renderer
// fills: the pseudo parameters ${AWS::Partition}, ${AWS::Region} and
// ${AWS::AccountId}, ${Name} for the name the resource's URL gives (a
// bucket, queue, table, parameter without its leading "/", secret name,
// Kinesis stream or Kafka topic) and ${Arn} for the ARN it gives or
// resolves to (a topic's, a key's: an alias is resolved to its key, since
// KMS authorises on the key; an MSK cluster's).
type AWSStatement struct {
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
	// Condition narrows the statement, e.g. a kms:Decrypt to the calls
	// that one service makes on the function's behalf.
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func allow(resource []string, actions ...string) AWSStatement {
	return AWSStatement{Effect: "Allow", Action: actions, Resource: resource}
}

// viaService is kms:Decrypt on the account's keys for the calls one
// service makes on the function's behalf: the key that encrypts a
// SecureString parameter or a secret (aws/ssm, aws/secretsmanager or a
// customer key) is not named by the resource's URL.
func viaService(service string) AWSStatement {
	s := allow([]string{"arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}, "kms:Decrypt")
	s.Condition = map[string]map[string]string{"StringEquals": {"kms:ViaService": service + ".${AWS::Region}.amazonaws.com"}}
	return s
}

var (
	s3Bucket  = []string{"arn:${AWS::Partition}:s3:::${Name}"}
	s3Objects = []string{"arn:${AWS::Partition}:s3:::${Name}/*"}
	s3Read    = []AWSStatement{allow(s3Bucket, "s3:ListBucket"), allow(s3Objects, "s3:GetObject")}
	s3Write   = []AWSStatement{allow(s3Objects, "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")}

	dynamoTable   = []string{"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}"}
	dynamoIndexes = []string{"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}",
		"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}/index/*"}
	dynamoRead  = allow(dynamoIndexes, "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan")
	dynamoWrite = allow(dynamoTable, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
	// gocloud's awsdynamodb describes the table when it opens the
	// collection, to learn its keys, whatever the use.
	dynamoDescribe = allow(dynamoTable, "dynamodb:DescribeTable")

	kmsKey = []string{"${Arn}"}

	kinesisStream = []string{"arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/${Name}"}
	// An enhanced fan-out consumer of the stream, whose shards the
	// mapping subscribes to.
	kinesisConsumers = []string{"arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/${Name}/consumer/*"}

	// lambdaVPC are the network interfaces Lambda's poller makes in the
	// cluster's subnets to reach brokers in a VPC: creating and deleting
	// them is scoped to the account's EC2 resources; the Describe actions
	// take no resource (IAM's "*").
	lambdaVPC = []AWSStatement{
		allow([]string{"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*"}, "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"),
		allow([]string{"*"}, "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"),
	}
)

// MSKScheme stands for a Kafka stream on Amazon MSK: its URL is
// kafka://BROKERS/TOPIC as a self-managed cluster's, so the kind and URL
// scheme do not tell them apart (polyfn build --scheme VAR=msk does).
const MSKScheme = "msk"

// awsTable is AWS's (kind, use, scheme) → IAM statements: the actions the
// gocloud.dev driver of each scheme calls (gocloud.dev v0.47.0) for what
// the use allows, on the resource's ARN. Batch calls are authorised by
// their single actions (PublishBatch by sns:Publish, DeleteMessageBatch
// by sqs:DeleteMessage, TransactWriteItems by the put, update and delete
// it holds).
//
// Write includes delete: core.Write is "creates, replaces and deletes"
// (blob.Bucket's Delete, docstore's Delete), so a write or read-write
// bucket gets s3:DeleteObject and a read bucket gets no write or delete
// action. A write-only bucket cannot Copy (S3 reads the source object
// with the caller's s3:GetObject): declare read-write for that.
//
// Sources:
//   - S3: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
//     and https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
//   - SNS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
//   - SQS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
//     and the Lambda execution role for an SQS event source,
//     https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
//   - KMS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
//     and kms:ViaService, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
//   - Parameter Store: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html
//   - Secrets Manager: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
//     (a secret's ARN ends in "-" and six random characters)
//   - DynamoDB: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
//   - Kinesis event source mappings: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
//     and the managed policy AWSLambdaKinesisExecutionRole, less
//     kinesis:ListStreams, which lists the account's streams, takes no
//     resource and is not needed by a mapping that names its stream;
//     https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisdatastreams.html
//     (SubscribeToShard is on the stream's consumer)
//   - Amazon MSK: https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html
//     (kafka:DescribeClusterV2, which serves provisioned and serverless
//     clusters and makes DescribeCluster unneeded, GetBootstrapBrokers,
//     the VPC's network interfaces) and, for IAM access control, the
//     kafka-cluster actions of https://docs.aws.amazon.com/lambda/latest/dg/msk-cluster-auth.html
//     on the cluster (${Arn}), the topic and the consumer groups
//     (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html:
//     topic/<cluster name>/<cluster uuid>/<topic>; the table is per
//     resource, so the groups are every group of the account's clusters)
//   - self-managed Kafka: https://docs.aws.amazon.com/lambda/latest/dg/with-kafka-permissions.html
//     (the VPC's network interfaces; a SASL/SCRAM, basic or mTLS secret is
//     a variable of its own, read through awssecretsmanager)
var awsTable = []row[AWSStatement]{
	{core.KindBucket, core.Read, "s3", s3Read},
	{core.KindBucket, core.Write, "s3", s3Write},
	{core.KindBucket, core.ReadWrite, "s3", append(append([]AWSStatement{}, s3Read...), s3Write...)},

	{core.KindTopic, core.Publish, "awssns", []AWSStatement{allow([]string{"${Arn}"}, "sns:Publish")}},

	{core.KindSubscription, core.Consume, "awssqs", []AWSStatement{allow(
		[]string{"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Name}"},
		"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")}},

	{core.KindKeeper, core.Encrypt, "awskms", []AWSStatement{allow(kmsKey, "kms:Encrypt")}},
	{core.KindKeeper, core.Decrypt, "awskms", []AWSStatement{allow(kmsKey, "kms:Decrypt")}},
	{core.KindKeeper, core.EncryptDecrypt, "awskms", []AWSStatement{allow(kmsKey, "kms:Encrypt", "kms:Decrypt")}},

	{core.KindVariable, core.Read, "awsparamstore", []AWSStatement{
		allow([]string{"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Name}"}, "ssm:GetParameter"),
		viaService("ssm"), // a SecureString is decrypted with its key
	}},
	{core.KindVariable, core.Read, "awssecretsmanager", []AWSStatement{
		allow([]string{"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Name}-??????"},
			"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
		viaService("secretsmanager"),
	}},

	{core.KindCollection, core.Read, "dynamodb", []AWSStatement{dynamoDescribe, dynamoRead}},
	{core.KindCollection, core.Write, "dynamodb", []AWSStatement{dynamoDescribe, dynamoWrite}},
	{core.KindCollection, core.ReadWrite, "dynamodb", []AWSStatement{dynamoDescribe, dynamoRead, dynamoWrite}},

	{core.KindStream, core.Consume, core.SchemeKinesis, []AWSStatement{
		allow(kinesisStream, "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
			"kinesis:GetShardIterator", "kinesis:ListShards"),
		allow(kinesisConsumers, "kinesis:SubscribeToShard"),
	}},
	{core.KindStream, core.Consume, MSKScheme, append([]AWSStatement{
		allow([]string{"${Arn}"}, "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers",
			"kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"),
		allow([]string{"arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:topic/*/*/${Name}"},
			"kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"),
		allow([]string{"arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:group/*/*/*"},
			"kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"),
	}, lambdaVPC...)},
	{core.KindStream, core.Consume, core.SchemeKafka, lambdaVPC},
}

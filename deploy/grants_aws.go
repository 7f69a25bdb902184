package deploy

import "github.com/polyfn/polyfn/core"

// AWSStatement is an IAM policy statement. Its Resource patterns hold
// placeholders in CloudFormation's Fn::Sub syntax, which the renderer
// fills: the pseudo parameters ${AWS::Partition}, ${AWS::Region} and
// ${AWS::AccountId}, ${Name} for the name the resource's URL gives (a
// bucket, queue, table, parameter without its leading "/", or secret name)
// and ${Arn} for the ARN it gives or resolves to (a topic's, a key's: an
// alias is resolved to its key, since KMS authorises on the key).
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
)

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
}

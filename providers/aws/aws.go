// Package aws links the gocloud.dev drivers for AWS. A build with -tags aws
// links it (cmd/launch/providers_aws.go); import it for its side effects.
package aws

import (
	_ "gocloud.dev/blob/s3blob"                  // s3://
	_ "gocloud.dev/docstore/awsdynamodb/v2"      // dynamodb://
	_ "gocloud.dev/pubsub/awssnssqs"             // awssns:// (topics), awssqs://
	_ "gocloud.dev/runtimevar/awsparamstore"     // awsparamstore://
	_ "gocloud.dev/runtimevar/awssecretsmanager" // awssecretsmanager://
	_ "gocloud.dev/secrets/awskms"               // awskms://
)

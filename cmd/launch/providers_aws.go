//go:build aws

package launch

// A -tags aws build links the AWS gocloud.dev drivers. The import
// lives apart from target_aws.go, which wires the adapter, so each file
// holds one concern.
import _ "github.com/polyfn/polyfn/providers/aws"

//go:build aws

package runtimevar

import (
	_ "gocloud.dev/runtimevar/awsparamstore"     // awsparamstore://
	_ "gocloud.dev/runtimevar/awssecretsmanager" // awssecretsmanager://
)

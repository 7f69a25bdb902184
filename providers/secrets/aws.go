//go:build aws

package secrets

import _ "gocloud.dev/secrets/awskms" // awskms://

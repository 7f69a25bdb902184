//go:build gcp

package secrets

import _ "gocloud.dev/secrets/gcpkms" // gcpkms://

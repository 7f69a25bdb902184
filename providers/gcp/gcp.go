// Package gcp links the gocloud.dev drivers for Google Cloud. A build with
// -tags gcp links it (cmd/launch/providers_gcp.go); import it for its side
// effects.
package gcp

import (
	_ "gocloud.dev/blob/gcsblob"                // gs://
	_ "gocloud.dev/docstore/gcpfirestore"       // firestore://
	_ "gocloud.dev/pubsub/gcppubsub"            // gcppubsub://
	_ "gocloud.dev/runtimevar/gcpsecretmanager" // gcpsecretmanager://
	_ "gocloud.dev/secrets/gcpkms"              // gcpkms://
)

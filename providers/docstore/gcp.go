//go:build gcp

package docstore

import _ "gocloud.dev/docstore/gcpfirestore" // firestore://

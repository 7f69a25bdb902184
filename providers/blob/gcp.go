//go:build gcp

package blob

import _ "gocloud.dev/blob/gcsblob" // gs://

//go:build aws

package blob

import _ "gocloud.dev/blob/s3blob" // s3://

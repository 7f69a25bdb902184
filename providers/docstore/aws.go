//go:build aws

package docstore

import _ "gocloud.dev/docstore/awsdynamodb/v2" // dynamodb://

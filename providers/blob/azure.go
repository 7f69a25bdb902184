//go:build azure

package blob

import _ "gocloud.dev/blob/azureblob" // azblob://

//go:build azure

package docstore

import _ "gocloud.dev/docstore/mongodocstore" // mongo://

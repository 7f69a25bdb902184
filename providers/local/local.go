// Package local links the gocloud.dev drivers that need no cloud: local
// files, memory and local keys. Every polyfn build links it, whatever the
// cloud, so any binary can run against local resources in tests. Import it
// for its side effects.
package local

import (
	_ "gocloud.dev/blob/fileblob"          // file://
	_ "gocloud.dev/blob/memblob"           // mem://
	_ "gocloud.dev/docstore/memdocstore"   // mem://
	_ "gocloud.dev/pubsub/mempubsub"       // mem://
	_ "gocloud.dev/runtimevar/constantvar" // constant://
	_ "gocloud.dev/runtimevar/filevar"     // file://
	_ "gocloud.dev/secrets/localsecrets"   // base64key://
)

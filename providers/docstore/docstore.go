// Package docstore links the gocloud.dev docstore.Collection driver of the
// build's target: dynamodb:// with -tags aws, firestore:// with -tags gcp,
// mongo:// (Azure Cosmos DB for MongoDB) with -tags azure. Every build made
// with cmd/launch serves mem:// without it (providers/local).
//
// A function's main imports it for its side effects when the function opens
// a collection (an idempotency store, say):
//
//	import _ "github.com/polyfn/polyfn/providers/docstore"
package docstore

// Package azure links the gocloud.dev drivers for Azure, and polyfn's own
// runtime variable driver for Key Vault secrets, which gocloud.dev lacks. A
// build with -tags azure links it (cmd/launch/providers_azure.go); import it
// for its side effects.
package azure

import (
	_ "gocloud.dev/blob/azureblob"         // azblob://
	_ "gocloud.dev/docstore/mongodocstore" // mongo:// (Cosmos DB for MongoDB)
	_ "gocloud.dev/pubsub/azuresb"         // azuresb://
	_ "gocloud.dev/secrets/azurekeyvault"  // azurekeyvault://

	_ "github.com/polyfn/polyfn/providers/azure/keyvaultvar" // azurekeyvaultvar://
)

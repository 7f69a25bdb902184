// Package azure links all of polyfn's gocloud.dev drivers for Azure at once,
// with polyfn's own runtime variable driver for Key Vault secrets, which
// gocloud.dev lacks (providers/azure/keyvaultvar), for tools and tests
// (internal/backends links every provider into one test binary); import it
// for its side effects. A function's main imports the kind packages it uses
// instead (providers/blob, …), which link the same drivers one kind at a
// time under -tags azure. Its mongo:// driver serves Azure Cosmos DB for
// MongoDB.
//
// Its imports (drivers.go) are generated from the driver table in
// providers/drivers.go.
package azure

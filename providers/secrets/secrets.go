// Package secrets links the gocloud.dev secrets.Keeper driver of the
// build's target: awskms:// with -tags aws, gcpkms:// with -tags gcp,
// azurekeyvault:// with -tags azure. Every build made with cmd/launch serves
// base64key:// without it (providers/local).
//
// A function's main imports it for its side effects when the function
// encrypts or decrypts with a keeper (core.Keeper):
//
//	import _ "github.com/polyfn/polyfn/providers/secrets"
package secrets

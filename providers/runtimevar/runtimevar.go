// Package runtimevar links the gocloud.dev runtimevar.Variable drivers of
// the build's target: awsparamstore:// and awssecretsmanager:// with
// -tags aws, gcpsecretmanager:// with -tags gcp, azurekeyvaultvar:// with
// -tags azure. Every build made with cmd/launch serves constant:// and
// file:// without it (providers/local).
//
// A function's main imports it for its side effects when the function reads
// a runtime variable (core.Variable: API keys, feature flags):
//
//	import _ "github.com/polyfn/polyfn/providers/runtimevar"
package runtimevar

// Package providertest supports the providers' tests.
package providertest

import (
	"gocloud.dev/blob"
	"gocloud.dev/docstore"
	"gocloud.dev/pubsub"
	"gocloud.dev/runtimevar"
	"gocloud.dev/secrets"
)

// Registered returns the URL schemes registered on gocloud.dev's default
// URL muxes in this binary, sorted, by portable type as gocloud.dev names it
// in errors ("blob.Bucket"); a type with no scheme is left out. A test
// binary that links one provider sees exactly that provider's schemes.
func Registered() map[string][]string {
	all := map[string][]string{
		"blob.Bucket":         blob.DefaultURLMux().BucketSchemes(),
		"docstore.Collection": docstore.DefaultURLMux().CollectionSchemes(),
		"pubsub.Topic":        pubsub.DefaultURLMux().TopicSchemes(),
		"pubsub.Subscription": pubsub.DefaultURLMux().SubscriptionSchemes(),
		"runtimevar.Variable": runtimevar.DefaultURLMux().VariableSchemes(),
		"secrets.Keeper":      secrets.DefaultURLMux().KeeperSchemes(),
	}
	for t, schemes := range all {
		if len(schemes) == 0 {
			delete(all, t)
		}
	}
	return all
}

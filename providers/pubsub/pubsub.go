// Package pubsub links the gocloud.dev pubsub.Topic and pubsub.Subscription
// drivers of the build's target: awssns:// and awssqs:// with -tags aws,
// gcppubsub:// with -tags gcp, azuresb:// with -tags azure. Every build
// that imports it also serves the self-hosted brokers, nats:// and
// rabbit:// (see providers/selfhosted), and every build made with
// cmd/launch serves mem:// without it (providers/local).
//
// A function's main imports it for its side effects when the function
// publishes to a topic or consumes a subscription (core.Topic,
// core.Subscription), so that a binary links the drivers of the resource
// kinds its function uses and no other:
//
//	import _ "github.com/polyfn/polyfn/providers/pubsub"
package pubsub

import (
	_ "gocloud.dev/pubsub/natspubsub"   // nats://
	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit://
)

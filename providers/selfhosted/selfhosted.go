// Package selfhosted links the gocloud.dev pub/sub drivers for brokers that
// run anywhere: NATS and RabbitMQ, on premises or on any cloud. Every polyfn
// build links it (cmd/launch/providers_selfhosted.go), so a function can
// publish to or consume from them whatever its target; import it for its
// side effects.
//
// The drivers connect to the server named in NATS_SERVER_URL
// (nats://host:4222) or RABBIT_SERVER_URL (amqp://user:password@host:5672/).
package selfhosted

import (
	_ "gocloud.dev/pubsub/natspubsub"   // nats://
	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit://
)

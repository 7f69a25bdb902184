// Package selfhosted links the gocloud.dev pub/sub drivers for brokers that
// run anywhere: NATS and RabbitMQ, on premises or on any cloud. Import it
// for its side effects. A function's main does not need it:
// providers/pubsub links the same drivers into every build that imports
// it, whatever the target. polyfn dev (cmd/polyfn) and tests import it.
//
// The drivers connect to the server named in NATS_SERVER_URL
// (nats://host:4222) or RABBIT_SERVER_URL (amqp://user:password@host:5672/).
//
// Its imports (drivers.go) are generated from the driver table in
// providers/drivers.go.
package selfhosted

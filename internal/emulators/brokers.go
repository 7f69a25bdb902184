package emulators

import (
	"testing"
	"time"
)

// Where the machine's message brokers listen (scripts/services starts them).
const (
	NATSAddr     = "127.0.0.1:4222"
	RabbitMQAddr = "127.0.0.1:5672"
)

// NATSURL returns the URL of the machine's NATS server, or reports it
// missing. Tests share the server: give every subject a name of the test's
// own.
func NATSURL(t testing.TB) string {
	t.Helper()
	if err := WaitTCP(NATSAddr, 2*time.Second); err != nil {
		Missing(t, "NATS is not running on %s: install nats-server, or run scripts/services", NATSAddr)
	}
	return "nats://" + NATSAddr
}

// RabbitMQURL returns the AMQP URL of the machine's RabbitMQ, as its default
// guest user, or reports it missing. Tests share the broker: give every
// exchange and queue a name of the test's own.
func RabbitMQURL(t testing.TB) string {
	t.Helper()
	if err := WaitTCP(RabbitMQAddr, 2*time.Second); err != nil {
		Missing(t, "RabbitMQ is not running on %s: install rabbitmq-server, or run scripts/services", RabbitMQAddr)
	}
	return "amqp://guest:guest@" + RabbitMQAddr + "/"
}

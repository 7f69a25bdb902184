package emulators

import (
	"testing"
	"time"
)

// RedisAddr is where the machine's Redis listens (scripts/services starts it).
const RedisAddr = "127.0.0.1:6379"

// RedisURL returns the URL of the machine's Redis, or reports it missing.
// Tests share the server: give every key a prefix of the test's own.
func RedisURL(t testing.TB) string {
	t.Helper()
	if err := WaitTCP(RedisAddr, 2*time.Second); err != nil {
		Missing(t, "Redis is not running on %s: install redis-server, or run scripts/services", RedisAddr)
	}
	return "redis://" + RedisAddr + "/0"
}

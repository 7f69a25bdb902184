package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps buckets in Redis, shared by every instance of a function.
// Each take is one atomic script run on the server's clock, so instances
// with skewed clocks agree. ElastiCache, Memorystore and Azure Cache for
// Redis all speak it.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a store on client; bucket keys are prefix + the caller key.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "polyfn:ratelimit:"
	}
	return &Redis{client: client, prefix: prefix}
}

// OpenRedis connects to a redis:// or rediss:// URL.
func OpenRedis(url, prefix string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return NewRedis(redis.NewClient(opts), prefix), nil
}

// Close closes the client.
func (s *Redis) Close() error { return s.client.Close() }

// takeScript is refill() in Lua: KEYS[1] the bucket hash; ARGV rate, burst.
// It returns {allowed, remaining, retry-after µs, reset µs}.
var takeScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil then tokens = burst; last = now end
local elapsed = math.max(0, now - last)
tokens = math.min(burst, tokens + elapsed * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
local reset = (burst - tokens) / rate
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(reset * 1000) + 1000)
return {allowed, math.floor(tokens), math.floor(retry * 1e6), math.floor(reset * 1e6)}
`)

// Take implements Store.
func (s *Redis) Take(ctx context.Context, key string, l Limit) (Decision, error) {
	res, err := takeScript.Run(ctx, s.client, []string{s.prefix + key}, l.Rate, l.Burst).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	return Decision{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		Reset:      time.Duration(res[3]) * time.Microsecond,
	}, nil
}

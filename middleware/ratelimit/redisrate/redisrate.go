// Package redisrate keeps ratelimit's buckets in Redis, shared by every
// instance of a function, with github.com/go-redis/redis_rate (the GCRA
// algorithm, equivalent to a token bucket, in one atomic script on the
// server's clock, so instances with skewed clocks agree). ElastiCache,
// Memorystore and Azure Cache for Redis all speak it. It is a package of its
// own so that a function with the in-memory store links no Redis client.
package redisrate

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/polyfn/polyfn/middleware/ratelimit"
)

// DefaultPrefix prefixes bucket keys when New is given none.
const DefaultPrefix = "polyfn:ratelimit:"

// Store is a ratelimit.Store in Redis.
type Store struct {
	client  redis.UniversalClient
	limiter *redis_rate.Limiter
	prefix  string
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a store on client. A bucket's Redis key is "rate:" (the
// library's own prefix), then prefix (default DefaultPrefix), then the
// caller's key.
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// Open connects to a redis:// or rediss:// URL.
func Open(url, prefix string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisrate: %w", err)
	}
	return New(redis.NewClient(opts), prefix), nil
}

// Close closes the client.
func (s *Store) Close() error { return s.client.Close() }

// Take implements ratelimit.Store.
func (s *Store) Take(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error) {
	if l.Rate <= 0 || l.Burst <= 0 {
		return ratelimit.Decision{}, fmt.Errorf("redisrate: limit %+v: want a positive rate and burst", l)
	}
	// GCRA needs only the interval between two tokens (Period/Rate) and
	// the burst: one token per 1/Rate seconds is any rate ParseLimit reads.
	lim := redis_rate.Limit{Rate: 1, Burst: l.Burst, Period: time.Duration(float64(time.Second) / l.Rate)}
	res, err := s.limiter.Allow(ctx, s.prefix+key, lim)
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("redisrate: %w", err)
	}
	return ratelimit.Decision{
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		RetryAfter: max(0, res.RetryAfter),
		Reset:      max(0, res.ResetAfter),
	}, nil
}

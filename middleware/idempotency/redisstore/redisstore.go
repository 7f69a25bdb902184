// Package redisstore keeps idempotency records in Redis, shared by every
// instance of a function. It is a package of its own so that a function
// with the in-memory store links no Redis client.
package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polyfn/polyfn/middleware/idempotency"
)

// DefaultPrefix prefixes record keys when New is given none.
const DefaultPrefix = "polyfn:idempotency:"

// Store is an idempotency.Store in Redis. Begin is one SET NX; Complete and Release check the owner atomically in a
// script, so an execution whose lease expired cannot overwrite its
// successor's record.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ idempotency.Store = (*Store)(nil)

// New returns a store on client; record keys are prefix (default
// DefaultPrefix) + a hash of the idempotency key (keys may be long and hold
// any bytes).
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}
}

// Open connects to a redis:// or rediss:// URL.
func Open(url, prefix string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return New(redis.NewClient(opts), prefix), nil
}

// Close closes the client.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.prefix + hex.EncodeToString(sum[:])
}

func ttlOf(rec idempotency.Record) time.Duration {
	return max(time.Millisecond, time.Until(rec.Expires))
}

// Begin implements idempotency.Store.
func (s *Store) Begin(ctx context.Context, rec idempotency.Record) (idempotency.Record, bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return idempotency.Record{}, false, err
	}
	for range 3 { // the existing record may expire between SET NX and GET
		ok, err := s.client.SetNX(ctx, s.key(rec.Key), b, ttlOf(rec)).Result()
		if err != nil {
			return idempotency.Record{}, false, fmt.Errorf("redisstore: %w", err)
		}
		if ok {
			return rec, true, nil
		}
		raw, err := s.client.Get(ctx, s.key(rec.Key)).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return idempotency.Record{}, false, fmt.Errorf("redisstore: %w", err)
		}
		var got idempotency.Record
		if err := json.Unmarshal(raw, &got); err != nil {
			return idempotency.Record{}, false, fmt.Errorf("redisstore: corrupt record: %w", err)
		}
		return got, false, nil
	}
	return idempotency.Record{}, false, errors.New("redisstore: record kept vanishing")
}

// ownerScript: KEYS[1] the record; ARGV[1] the owner; ARGV[2] the new
// value or "" to delete; ARGV[3] its TTL in ms. Returns 1, or 0 when another
// owner (or nobody) holds the record.
var ownerScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if not ok or rec['owner'] ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

// Complete implements idempotency.Store.
func (s *Store) Complete(ctx context.Context, rec idempotency.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.runOwner(ctx, rec.Key, rec.Owner, string(b), ttlOf(rec))
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	return s.runOwner(ctx, key, owner, "", 0)
}

func (s *Store) runOwner(ctx context.Context, key, owner, value string, ttl time.Duration) error {
	n, err := ownerScript.Run(ctx, s.client, []string{s.key(key)}, owner, value, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	if n == 0 {
		return idempotency.ErrNotOwner
	}
	return nil
}

package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps records in Redis, shared by every instance of a function.
// Begin is one SET NX; Complete and Release check the owner atomically in a
// script, so an execution whose lease expired cannot overwrite its
// successor's record.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a store on client; record keys are prefix + a hash of
// the idempotency key (keys may be long and hold any bytes).
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "polyfn:idempotency:"
	}
	return &Redis{client: client, prefix: prefix}
}

// OpenRedis connects to a redis:// or rediss:// URL.
func OpenRedis(url, prefix string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	return NewRedis(redis.NewClient(opts), prefix), nil
}

// Close closes the client.
func (s *Redis) Close() error { return s.client.Close() }

func (s *Redis) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.prefix + hex.EncodeToString(sum[:])
}

func ttlOf(rec Record) time.Duration {
	return max(time.Millisecond, time.Until(rec.Expires))
}

// Begin implements Store.
func (s *Redis) Begin(ctx context.Context, rec Record) (Record, bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return Record{}, false, err
	}
	for range 3 { // the existing record may expire between SET NX and GET
		ok, err := s.client.SetNX(ctx, s.key(rec.Key), b, ttlOf(rec)).Result()
		if err != nil {
			return Record{}, false, fmt.Errorf("idempotency: redis: %w", err)
		}
		if ok {
			return rec, true, nil
		}
		raw, err := s.client.Get(ctx, s.key(rec.Key)).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return Record{}, false, fmt.Errorf("idempotency: redis: %w", err)
		}
		var got Record
		if err := json.Unmarshal(raw, &got); err != nil {
			return Record{}, false, fmt.Errorf("idempotency: redis: corrupt record: %w", err)
		}
		return got, false, nil
	}
	return Record{}, false, errors.New("idempotency: redis: record kept vanishing")
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

// Complete implements Store.
func (s *Redis) Complete(ctx context.Context, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.runOwner(ctx, rec.Key, rec.Owner, string(b), ttlOf(rec))
}

// Release implements Store.
func (s *Redis) Release(ctx context.Context, key, owner string) error {
	return s.runOwner(ctx, key, owner, "", 0)
}

func (s *Redis) runOwner(ctx context.Context, key, owner, value string, ttl time.Duration) error {
	n, err := ownerScript.Run(ctx, s.client, []string{s.key(key)}, owner, value, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("idempotency: redis: %w", err)
	}
	if n == 0 {
		return ErrNotOwner
	}
	return nil
}

package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory keeps buckets in this process. Buckets that have been full for a
// while are dropped, so memory follows the number of active callers.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
	full   time.Time // when the bucket will be full again
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory { return &Memory{buckets: map[string]*bucket{}, now: time.Now} }

// Take implements Store.
func (m *Memory) Take(_ context.Context, key string, l Limit) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	b, ok := m.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.Burst), last: now}
		m.buckets[key] = b
	}
	var d Decision
	b.tokens, d = refill(b.tokens, now.Sub(b.last), l)
	b.last, b.full = now, now.Add(d.Reset)
	if now.Sub(m.sweep) > time.Minute {
		m.sweep = now
		for k, b := range m.buckets {
			if now.After(b.full) {
				delete(m.buckets, k) // full again: same as a new bucket
			}
		}
	}
	return d, nil
}

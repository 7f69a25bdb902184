package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Memory keeps buckets in this process, one golang.org/x/time/rate
// Limiter per key. Buckets that have been full for a while are dropped, so
// memory follows the number of active callers.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	now     func() time.Time
	sweep   time.Time
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory { return &Memory{buckets: map[string]*rate.Limiter{}, now: time.Now} }

// Take implements Store.
func (m *Memory) Take(_ context.Context, key string, l Limit) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	lim, ok := m.buckets[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.Rate), l.Burst) // a new limiter is full
		m.buckets[key] = lim
	} else if lim.Limit() != rate.Limit(l.Rate) || lim.Burst() != l.Burst {
		lim.SetLimitAt(now, rate.Limit(l.Rate))
		lim.SetBurstAt(now, l.Burst)
	}
	var d Decision
	res := lim.ReserveN(now, 1)
	if wait := res.DelayFrom(now); !res.OK() || wait > 0 {
		res.CancelAt(now) // a denied request takes no token
		d.RetryAfter = wait
	} else {
		d.Allowed = true
	}
	tokens := max(0, lim.TokensAt(now))
	d.Remaining = int(math.Floor(tokens))
	d.Reset = time.Duration((float64(l.Burst) - tokens) / l.Rate * float64(time.Second))
	if now.Sub(m.sweep) > time.Minute {
		m.sweep = now
		for k, b := range m.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(m.buckets, k) // full again: same as a new bucket
			}
		}
	}
	return d, nil
}

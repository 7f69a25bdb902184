// Package ratelimit throttles HTTP requests per caller with token buckets.
// A Store holds the buckets: Memory keeps them in the process (each instance
// of a function has its own) with golang.org/x/time/rate; the Redis store in
// the redisrate package shares them between every instance (the only kind
// that means anything when a cloud runs a hundred copies of a function), and
// links go-redis only into the programs that import it. Throttled requests
// get 429 with Retry-After and RateLimit-* headers and an RFC 9457 problem
// body.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
)

// Limit is a token bucket: Rate tokens per second are added, up to Burst.
type Limit struct {
	Rate  float64
	Burst int
}

// ParseLimit reads "N/s", "N/m" or "N/h" (N requests per second, minute or
// hour, with a burst of N), optionally followed by ",burst=B".
func ParseLimit(s string) (Limit, error) {
	spec, burstPart, hasBurst := strings.Cut(strings.ReplaceAll(s, " ", ""), ",")
	n, unit, ok := strings.Cut(spec, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count <= 0 {
		return Limit{}, fmt.Errorf("ratelimit: %q: want N/s, N/m or N/h with N > 0", s)
	}
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	if per == 0 {
		return Limit{}, fmt.Errorf("ratelimit: %q: unit must be s, m or h", s)
	}
	l := Limit{Rate: float64(count) / per, Burst: count}
	if hasBurst {
		b, ok := strings.CutPrefix(burstPart, "burst=")
		burst, err := strconv.Atoi(b)
		if !ok || err != nil || burst <= 0 {
			return Limit{}, fmt.Errorf("ratelimit: %q: want ,burst=B with B > 0", s)
		}
		l.Burst = burst
	}
	return l, nil
}

// Decision is a store's answer for one request.
type Decision struct {
	Allowed bool
	// Remaining is how many requests the bucket allows right now.
	Remaining int
	// RetryAfter is how long until one request is allowed, when denied.
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// Store keeps buckets.
type Store interface {
	// Take takes one token from key's bucket under l.
	Take(ctx context.Context, key string, l Limit) (Decision, error)
}

// Options configure Middleware.
type Options struct {
	// Key names the bucket of a request; default KeyByCaller.
	Key func(r *http.Request) string
	// FailClosed answers 503 when the store fails; by default the request
	// is let through and the failure logged, so a cache outage does not take
	// the API down.
	FailClosed bool
}

// KeyByCaller keys a request by its authenticated principal when there is
// one (put the middleware inside auth.Middleware), else by the client's IP
// address as the connection gives it.
func KeyByCaller(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok && p.Subject != "" {
		return string(p.Method) + ":" + p.Subject
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// Middleware throttles requests with store under l.
func Middleware(store Store, l Limit, opts *Options) func(http.Handler) http.Handler {
	key := KeyByCaller
	failClosed := false
	if opts != nil {
		if opts.Key != nil {
			key = opts.Key
		}
		failClosed = opts.FailClosed
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, err := store.Take(r.Context(), key(r), l)
			if err != nil {
				if failClosed {
					core.WriteError(w, r, core.Wrap(core.Unavailable, err))
					return
				}
				slog.WarnContext(r.Context(), "rate limit store failed; request let through", slog.Any("error", err))
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Set("RateLimit-Limit", strconv.Itoa(l.Burst))
			h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
			h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
			if !d.Allowed {
				h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
				core.WriteError(w, r, core.Errorf(core.ResourceExhausted, "rate limit exceeded; retry in %ds", max(1, ceilSeconds(d.RetryAfter))))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

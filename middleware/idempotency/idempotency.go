// Package idempotency makes retries safe. The first execution for a key is
// recorded and its result replayed to every retry; a duplicate that arrives
// while the first is still running is turned away (409 for HTTP, a retryable
// failure for events); a retry that reuses a key with a different payload is
// rejected (422). Records expire. Failures are not recorded unless asked, so
// a failed attempt can be retried.
//
// HTTP requests are keyed by their Idempotency-Key header (unsafe methods
// only); events by their id, or a key taken from the payload. Stores: Memory
// (one process) here; Redis in the redisstore package and any gocloud
// docstore collection (DynamoDB, Firestore, Cosmos DB's MongoDB API in
// production) in docstorestore, each a package of its own, so a function
// links the client of the store it uses and no other.
package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"
)

// State is a record's state.
type State string

// The states.
const (
	InProgress State = "in_progress"
	Done       State = "done"
)

// Response is a recorded HTTP response.
type Response struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// Record is what a store keeps for one key.
type Record struct {
	Key string `json:"key"`
	// Fingerprint is a hash of the payload the key was first used with.
	Fingerprint string `json:"fingerprint"`
	State       State  `json:"state"`
	// Owner identifies the execution holding an in-progress record, so that
	// only it can complete or release the record.
	Owner string `json:"owner"`
	// Response is the recorded HTTP response (HTTP records).
	Response *Response `json:"response,omitempty"`
	// Expires is when the record may be forgotten.
	Expires time.Time `json:"expires"`
}

// Store keeps records. Implementations make Begin atomic: of concurrent
// Begins for one key, exactly one starts.
type Store interface {
	// Begin creates an in-progress record for rec.Key, owned by rec.Owner,
	// unless an unexpired record exists. It returns the existing record and
	// false, or rec and true when this call created it.
	Begin(ctx context.Context, rec Record) (Record, bool, error)
	// Complete replaces the caller's in-progress record with rec (Done).
	Complete(ctx context.Context, rec Record) error
	// Release deletes the caller's in-progress record, so a retry can start
	// afresh.
	Release(ctx context.Context, key, owner string) error
}

// ErrNotOwner is returned by Complete and Release when the record is gone or
// another execution holds it (its lease expired and a retry took over).
var ErrNotOwner = errors.New("idempotency: record not held by this execution")

// Options tune the middleware.
type Options struct {
	// TTL is how long a completed record is kept; default 24h.
	TTL time.Duration
	// Lease is how long an in-progress record blocks duplicates before a
	// retry may take over (an execution that crashed never releases it);
	// default 5m. Set it above the function's timeout.
	Lease time.Duration
	// CacheFailures records failed executions too (HTTP 4xx responses;
	// event errors never are), so their retries replay the failure.
	CacheFailures bool
}

func (o *Options) withDefaults() Options {
	out := Options{}
	if o != nil {
		out = *o
	}
	if out.TTL <= 0 {
		out.TTL = 24 * time.Hour
	}
	if out.Lease <= 0 {
		out.Lease = 5 * time.Minute
	}
	return out
}

func fingerprint(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		for i, l := 0, len(p); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:]) // length-prefixed, so parts cannot run into each other
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newOwner() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// releaseContext is the context for releasing or completing a record after
// the execution: it survives the caller's cancellation, briefly.
func releaseContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

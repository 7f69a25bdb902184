// Package adaptertest is the conformance suite every polyfn adapter runs: it
// proves that the same function gives the same results on every platform.
// Shaped like gocloud's drivertest, an adapter's test file supplies only a
// small Harness that encodes a neutral input as the platform's native
// delivery, pushes it through the adapter's real entry point, and decodes
// the native reply; RunConformanceTests does the rest.
package adaptertest

import (
	"context"
	"net/http"
	"testing"

	"github.com/polyfn/polyfn/core"
)

// Harness drives one adapter.
type Harness interface {
	// Name names the platform, for the capability matrix ("local", "aws"…).
	Name() string
	// Start starts app on the adapter, as the platform would (resources
	// resolved from env), and returns a Client for it. The harness stops it
	// when the test ends.
	Start(t *testing.T, app *core.App, env map[string]string) Client
	// Can reports whether the platform can express a capability; a case
	// needing one it cannot is skipped with the returned reason.
	Can(c Capability) (bool, string)
}

// Client sends neutral inputs to a started app through the platform's
// native delivery.
type Client interface {
	// Do sends an HTTP request as a client of the platform's front door
	// would (an API gateway, the functions framework, the Functions host),
	// and returns what that client would receive.
	Do(ctx context.Context, req *http.Request) (*http.Response, error)
	// Deliver sends events to the event function fn as one native delivery
	// (one batch where the platform batches) and returns the outcome as the
	// platform sees it.
	Deliver(ctx context.Context, fn string, events []core.Event) (Outcome, error)
}

// Outcome is what the platform learns from one delivery.
type Outcome struct {
	// Failed lists the ids of the events the platform will redeliver, in
	// batch order: exactly the failed ones where it supports partial batch
	// failures, every event of the batch where it does not.
	Failed []string
	// Retried reports whether the platform will redeliver anything.
	Retried bool
}

// HarnessMaker makes a Harness for one test.
type HarnessMaker func(t *testing.T) Harness

// Capability is something a platform may or may not express.
type Capability string

// The capabilities the cases depend on.
const (
	// BinaryResponses: the platform returns a binary response body intact.
	BinaryResponses Capability = "binary-responses"
	// LargeBodies: 5 MB request and response bodies pass through.
	LargeBodies Capability = "large-bodies"
	// RepeatedResponseHeaders: several values of one response header
	// (other than Set-Cookie) reach the client as separate values.
	RepeatedResponseHeaders Capability = "repeated-response-headers"
	// PartialBatchFailure: a batch reports exactly its failed items.
	PartialBatchFailure Capability = "partial-batch-failure"
	// Deadline: the platform sends an invocation deadline.
	Deadline Capability = "deadline"
)

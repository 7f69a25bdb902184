// Package adaptertest is the conformance suite every polyfn adapter runs: it
// proves that the same function gives the same results on every platform.
// Shaped like gocloud's drivertest, an adapter's test file supplies only a
// small Harness that encodes a neutral input as the platform's native
// delivery, pushes it through the adapter's real entry point, and decodes
// the native reply; RunConformanceTests does the rest.
//
// A case a platform cannot express is skipped with the reason its harness
// gives (Harness.Can). Every run prints the platform's column of the
// capability matrix, writes it to $POLYFN_CONFORMANCE_OUT/<platform>.json
// when that variable names a directory, and fails when the column recorded
// in docs/conformance.md differs from what the run found: the document is
// generated from the columns (go run ./adapters/adaptertest/cmd/conformancedoc),
// never written by hand.
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
	// Can reports whether the platform can express a capability, and why or
	// why not; a case needing one it cannot is skipped with the reason,
	// which docs/conformance.md shows. Behavioural capabilities (such as
	// PartialBatchFailure) choose what a case expects rather than skip it.
	Can(c Capability) (bool, string)
	// Source returns the CloudEvents source that the platform gives the
	// events of the conformance app's event function fn ("objects",
	// "messages", "changes", "timer"), in its own naming: a bucket's ARN, a
	// topic's resource name. The suite's events carry it, so that the
	// harness can put it where the platform's native delivery names its
	// source.
	Source(fn string) string
}

// TimerNamer is implemented by a Harness whose platform names a timer other
// than after its function, by the conventions of docs/events.md (on AWS,
// the schedule's ARN). TimerName returns the name that the timer of the
// conformance app's event function fn ("timer") has there; the suite's
// timer events carry it. Without it, a timer is named after its function.
type TimerNamer interface {
	TimerName(fn string) string
}

// Describer is implemented by a Harness that explains how it drives its
// platform (which native forms, which entry point); docs/conformance.md
// shows the text.
type Describer interface {
	Describe() string
}

// Client sends neutral inputs to a started app through the platform's
// native delivery.
type Client interface {
	// Do sends an HTTP request as a client of the platform's front door
	// would (an API gateway, the functions framework, the Functions host),
	// and returns what that client would receive. When ctx ends, the
	// platform is told only as the real one would be.
	Do(ctx context.Context, req *http.Request) (*http.Response, error)
	// Deliver sends events to the event function fn as one native delivery
	// (one batch where the platform batches; one request per event where it
	// does not) and returns the outcome as the platform sees it. Delivering
	// the same events twice must produce the same native payload.
	Deliver(ctx context.Context, fn string, events []core.Event) (Outcome, error)
}

// Outcome is what the platform learns from one delivery.
type Outcome struct {
	// Redelivered lists the ids of the events the platform will deliver
	// again, in batch order: the failed ones it was told about, every event
	// of a batch that failed as a whole, and none that it acknowledged
	// (succeeded, or failed for good where the platform lets a function
	// say so).
	Redelivered []string
	// Reply is what the platform received back, concatenated over the
	// requests of the delivery: the suite checks that no internal error text
	// reaches it.
	Reply []byte
}

// HarnessMaker makes a Harness for one test.
type HarnessMaker func(t *testing.T) Harness

// Capability is something a platform may or may not express.
type Capability string

// The capabilities that HTTP cases depend on.
const (
	// BinaryResponses: a binary response body reaches the client intact.
	BinaryResponses Capability = "binary-responses"
	// LargeBodies: 5 MB text request and response bodies pass through.
	LargeBodies Capability = "large-bodies"
	// LargeBinaryBodies: 5 MB binary request and response bodies pass
	// through.
	LargeBinaryBodies Capability = "large-binary-bodies"
	// RepeatedRequestHeaders: several values of one request header reach
	// the function as separate values.
	RepeatedRequestHeaders Capability = "repeated-request-headers"
	// RepeatedQueryValues: several values of one query parameter reach the
	// function as separate values.
	RepeatedQueryValues Capability = "repeated-query-values"
	// MultipleCookies: several Set-Cookie headers reach the client.
	MultipleCookies Capability = "multiple-cookies"
	// RepeatedResponseHeaders: several values of one response header
	// (other than Set-Cookie) reach the client as separate values.
	RepeatedResponseHeaders Capability = "repeated-response-headers"
	// Cancellation: a client that goes away ends the request's context.
	Cancellation Capability = "cancellation"
)

// The capabilities that HTTP and event cases depend on.
const (
	// Deadline: an HTTP request's context carries its unit's deadline, the
	// app's declared timeout (core.App.Size), or the platform's deadline
	// when that is earlier.
	Deadline Capability = "deadline"
	// EventDeadline: an event's context carries its own function's
	// deadline, its declared timeout (core.App.SizeFunc), or the
	// platform's deadline when that is earlier.
	EventDeadline Capability = "event-deadline"
)

// The behavioural capabilities: they choose what a case expects.
const (
	// PartialBatchFailure: of a batch of messages, exactly the failed ones
	// are redelivered.
	PartialBatchFailure Capability = "partial-batch-failure"
	// PartialChangeBatchFailure: of a batch of database changes, exactly
	// the failed ones are redelivered.
	PartialChangeBatchFailure Capability = "partial-change-batch-failure"
	// OrderedChangeBatches: without PartialChangeBatchFailure, a change
	// batch stops at its first failure, which is redelivered with every
	// later change; otherwise the whole batch is.
	OrderedChangeBatches Capability = "ordered-change-batches"
	// AcknowledgePermanentFailures: an event that failed with a client-error
	// code (core.Code.IsClientError), which redelivery cannot fix, is
	// acknowledged (dropped or dead-lettered at once) instead of being
	// redelivered until the platform's retry limit.
	AcknowledgePermanentFailures Capability = "acknowledge-permanent-failures"
)

// The envelope attributes and data fields that EventField names; data
// fields are named "data.<json name>".
const (
	FieldID     = "id"
	FieldSource = "source"
	FieldTime   = "time"
	// FieldSubjectKey: an object event's subject is the object's key.
	FieldSubjectKey = "subject is the key"
	// FieldBinaryBody: a message's body may be any bytes.
	FieldBinaryBody = "data.body, binary"
	// FieldTrace: the trace context a message carries from its producer
	// (the CloudEvents traceparent extension, SQS's AWSTraceHeader, Service
	// Bus's Diagnostic-Id) arrives with it, in Event.Trace.
	FieldTrace = "trace"
	// FieldRemoval: a document's removal arrives as a change.
	FieldRemoval = "removal"
)

// EventField is the capability of carrying one envelope attribute (FieldID,
// FieldSource, FieldTime) or data field ("data.op") of events of kind k
// from the native delivery to the function exactly as sent:
// "object_created.id".
func EventField(k core.Kind, field string) Capability {
	return Capability(string(k) + "." + field)
}

package core

import (
	"context"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"time"
)

// Cloud names the platform a function runs on.
type Cloud string

// The platforms.
const (
	CloudLocal Cloud = "local"
	CloudAWS   Cloud = "aws"
	CloudGCP   Cloud = "gcp"
	CloudAzure Cloud = "azure"
)

// Invocation is the platform's metadata about one invocation of a function.
// Adapters put it in the context; functions and middleware read it with
// InvocationFrom.
type Invocation struct {
	// ID is the platform's invocation id: the Lambda request id, the Azure
	// invocation id, the Cloud Functions execution id, or a generated one.
	ID string
	// Cloud is the platform.
	Cloud Cloud
	// Function is the function's name on the platform.
	Function string
	// Deadline is when the platform will stop the invocation; zero if it
	// does not say. The context's deadline is set from it too.
	Deadline time.Time
	// Trace is the trace context the platform passed in, if any.
	Trace Trace
	// ColdStart is true for the first invocation in this process.
	ColdStart bool
}

type invocationKey struct{}

// WithInvocation returns a copy of ctx carrying inv, with inv.Deadline as its
// deadline when one is set. An Observer that is a Starter (a tracer) starts
// the invocation's work there. The returned cancel function releases the
// deadline's timer and must be called when the invocation ends: it tells the
// Observer, if any, that it ended.
func WithInvocation(ctx context.Context, inv *Invocation) (context.Context, context.CancelFunc) {
	o := currentObserver()
	if o == nil {
		return withDeadline(context.WithValue(ctx, invocationKey{}, inv), inv)
	}
	ic := &invocationCtx{Context: ctx, inv: inv}
	ctx = ic
	if s, ok := o.(Starter); ok {
		ctx = s.StartInvocation(ctx, inv)
	}
	ctx, cancel := withDeadline(ctx, inv)
	ic.end = invocationEnd{o: o, ctx: ctx, cancel: cancel}
	return ctx, ic.ended
}

// withDeadline returns a cancellable copy of ctx with inv's deadline, if
// it has one.
func withDeadline(ctx context.Context, inv *Invocation) (context.Context, context.CancelFunc) {
	if !inv.Deadline.IsZero() {
		return context.WithDeadline(ctx, inv.Deadline)
	}
	return context.WithCancel(ctx)
}

// invocationCtx carries an invocation, as context.WithValue would, and,
// when an observer is installed, the state of its end (invocationEnd) in
// the same object, which saves an invocation an allocation.
type invocationCtx struct {
	context.Context // the parent
	inv             *Invocation
	end             invocationEnd // set once the invocation's context is made
}

// Value returns the invocation for its key and asks the parent otherwise.
func (c *invocationCtx) Value(key any) any {
	if key == (invocationKey{}) {
		return c.inv
	}
	return c.Context.Value(key)
}

func (c *invocationCtx) String() string { return "core.WithInvocation" }

// InvocationFrom returns the invocation metadata in ctx, if any.
func InvocationFrom(ctx context.Context) (*Invocation, bool) {
	inv, ok := ctx.Value(invocationKey{}).(*Invocation)
	return inv, ok
}

var warm atomic.Bool

// ColdStart reports whether this is the first invocation in the process: it
// returns true exactly once, to the first caller. Adapters call it once per
// invocation and record the answer in Invocation.ColdStart.
func ColdStart() bool {
	return !warm.Swap(true)
}

// TraceFormat names a trace-context encoding.
type TraceFormat string

// The trace formats polyfn reads.
const (
	TraceW3C  TraceFormat = "w3c"  // traceparent
	TraceXRay TraceFormat = "xray" // X-Amzn-Trace-Id / Lambda-Runtime-Trace-Id
	TraceGCP  TraceFormat = "gcp"  // X-Cloud-Trace-Context
)

// Trace is a trace context received with an invocation.
type Trace struct {
	Format TraceFormat
	// TraceID is the trace id in the format's own spelling (32 hex digits
	// for W3C and GCP, "1-5759e988-bd862e3fe1be46a994272793" for X-Ray).
	TraceID string
	// SpanID is the parent span id, if the format carries one.
	SpanID  string
	Sampled bool
	// Raw is the header value as received.
	Raw string
}

// IsZero reports whether t holds no trace.
func (t Trace) IsZero() bool { return t.TraceID == "" }

// ParseTraceparent parses a W3C traceparent header value
// ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"). Per the W3C spec
// an all-zero trace or span id is invalid, and an unknown higher version may
// carry more fields after the fourth.
func ParseTraceparent(s string) (Trace, bool) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) < 4 {
		return Trace{}, false
	}
	ver, traceID, spanID, flags := parts[0], parts[1], parts[2], parts[3]
	if len(ver) != 2 || !isLowerHex(ver) || ver == "ff" || (ver == "00" && len(parts) != 4) {
		return Trace{}, false
	}
	if len(traceID) != 32 || !isLowerHex(traceID) || strings.Trim(traceID, "0") == "" ||
		len(spanID) != 16 || !isLowerHex(spanID) || strings.Trim(spanID, "0") == "" ||
		len(flags) != 2 || !isLowerHex(flags) {
		return Trace{}, false
	}
	fb, _ := hex.DecodeString(flags)
	return Trace{Format: TraceW3C, TraceID: traceID, SpanID: spanID, Sampled: fb[0]&1 == 1, Raw: s}, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

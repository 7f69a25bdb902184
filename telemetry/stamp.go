package telemetry

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
)

// Stamp returns the attributes to add to a record logged with ctx: a cloud's
// names for the invocation's request id, trace and so on. It appends to
// attrs and returns the result, which may be attrs unchanged.
type Stamp func(ctx context.Context, attrs []slog.Attr) []slog.Attr

// StampHandler is a slog.Handler that adds the attributes of a Stamp to every
// record, at the top level of the output whatever groups the handler was
// opened with, right after the record's message and before any other
// attribute, as log readers expect an entry's request id and trace in fixed
// places. It serves handlers that cannot write a stamp themselves (slog's
// text handler); the JSON handlers of the clouds write theirs with
// jsonlog.Options.AppendContext, in the same place, at a fraction of the
// cost.
type StampHandler struct {
	base  slog.Handler // the inner handler, before any WithAttrs or WithGroup
	cur   slog.Handler // base with scope applied
	stamp Stamp
	// scope replays the WithAttrs and WithGroup calls made on this handler,
	// in order, on top of a base that carries the stamp.
	scope []func(slog.Handler) slog.Handler
}

var _ slog.Handler = (*StampHandler)(nil)

// NewStampHandler wraps inner.
func NewStampHandler(inner slog.Handler, stamp Stamp) *StampHandler {
	return &StampHandler{base: inner, cur: inner, stamp: stamp}
}

// Enabled reports whether the inner handler handles level.
func (h *StampHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.cur.Enabled(ctx, level)
}

// stampBuffers hold the attributes of one record's stamp while it is
// handled: a Stamp is called through a function value, so a buffer on the
// stack would escape to the heap, once per record.
var stampBuffers = sync.Pool{New: func() any { return new([8]slog.Attr) }}

// Handle adds the stamp's attributes and passes the record on.
func (h *StampHandler) Handle(ctx context.Context, r slog.Record) error {
	buf := stampBuffers.Get().(*[8]slog.Attr)
	defer func() {
		*buf = [8]slog.Attr{} // let go of the values
		stampBuffers.Put(buf)
	}()
	attrs := h.stamp(ctx, buf[:0])
	if len(attrs) == 0 {
		return h.cur.Handle(ctx, r)
	}
	if len(h.scope) == 0 {
		// Nothing was added on this handler: the stamp leads the record's
		// own attributes (AddAttrs copies it).
		stamped := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		stamped.AddAttrs(attrs...)
		r.Attrs(func(a slog.Attr) bool {
			stamped.AddAttrs(a)
			return true
		})
		return h.cur.Handle(ctx, stamped)
	}
	// The handler's attributes and groups come after the stamp: put it on
	// the base handler and replay the scope on top of it. WithAttrs owns
	// the slice it is given, so it gets a copy of the pooled buffer.
	j := h.base.WithAttrs(slices.Clone(attrs))
	for _, apply := range h.scope {
		j = apply(j)
	}
	return j.Handle(ctx, r)
}

// WithAttrs returns a handler whose records carry attrs.
func (h *StampHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(h.cur.WithAttrs(attrs), func(j slog.Handler) slog.Handler { return j.WithAttrs(attrs) })
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *StampHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(h.cur.WithGroup(name), func(j slog.Handler) slog.Handler { return j.WithGroup(name) })
}

func (h *StampHandler) with(cur slog.Handler, apply func(slog.Handler) slog.Handler) *StampHandler {
	scope := make([]func(slog.Handler) slog.Handler, len(h.scope), len(h.scope)+1)
	copy(scope, h.scope)
	return &StampHandler{base: h.base, cur: cur, stamp: h.stamp, scope: append(scope, apply)}
}

// StampInvocation is the Stamp of the clouds without a log format of their
// own (Azure, the local runtime): the invocation's "invocation_id" and
// "function" and, when a trace came with it, "trace_id", as core.LogHandler
// adds them but outside any group. AppendInvocation writes the same members
// for a JSON handler.
func StampInvocation(ctx context.Context, attrs []slog.Attr) []slog.Attr {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		return attrs
	}
	attrs = append(attrs, slog.String("invocation_id", inv.ID), slog.String("function", inv.Function))
	if !inv.Trace.IsZero() {
		attrs = append(attrs, slog.String("trace_id", inv.Trace.TraceID))
	}
	return attrs
}

// AppendInvocation is the jsonlog.Options.AppendContext of the clouds without
// a log format of their own: the members StampInvocation adds, written as
// StampHandler and slog's JSON handler write them. The values are the
// platform's identifiers, not what a function logged, and are written as
// they are.
func AppendInvocation(ctx context.Context, b []byte) []byte {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		return b
	}
	b = jsonlog.AppendMember(b, "invocation_id", inv.ID)
	b = jsonlog.AppendMember(b, "function", inv.Function)
	if !inv.Trace.IsZero() {
		b = jsonlog.AppendMember(b, "trace_id", inv.Trace.TraceID)
	}
	return b
}

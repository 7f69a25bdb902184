package telemetry

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/polyfn/polyfn/core"
)

// Stamp returns the attributes to add to a record logged with ctx: a cloud's
// names for the invocation's request id, trace and so on. It appends to
// attrs and returns the result, which may be attrs unchanged.
type Stamp func(ctx context.Context, attrs []slog.Attr) []slog.Attr

// StampHandler is a slog.Handler that adds the attributes of a Stamp to every
// record at the top level of the output, whatever groups the handler was
// opened with, as log readers expect an entry's request id and trace in
// fixed places.
type StampHandler struct {
	base  slog.Handler // the inner handler, before any WithAttrs or WithGroup
	cur   slog.Handler // base with scope applied
	stamp Stamp
	// scope replays the WithAttrs and WithGroup calls made on this handler,
	// in order, for records that need their stamp outside the groups.
	scope   []func(slog.Handler) slog.Handler
	grouped bool
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
	if !h.grouped {
		r.AddAttrs(attrs...) // copies them into the record
		return h.cur.Handle(ctx, r)
	}
	// The record's own attributes belong in the groups: put the stamp on
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
	return h.with(h.cur.WithAttrs(attrs), false, func(j slog.Handler) slog.Handler { return j.WithAttrs(attrs) })
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *StampHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(h.cur.WithGroup(name), true, func(j slog.Handler) slog.Handler { return j.WithGroup(name) })
}

func (h *StampHandler) with(cur slog.Handler, group bool, apply func(slog.Handler) slog.Handler) *StampHandler {
	scope := make([]func(slog.Handler) slog.Handler, len(h.scope), len(h.scope)+1)
	copy(scope, h.scope)
	return &StampHandler{base: h.base, cur: cur, stamp: h.stamp, scope: append(scope, apply), grouped: h.grouped || group}
}

// StampInvocation is the Stamp of the clouds without a log format of their
// own (Azure, the local runtime): the invocation's "invocation_id" and
// "function" and, when a trace came with it, "trace_id", as core.LogHandler
// adds them but outside any group.
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

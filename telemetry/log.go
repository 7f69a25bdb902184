package telemetry

import (
	"context"
	"log/slog"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
)

// LogOptions configure a LogHandler.
type LogOptions struct {
	// Fields returns the attributes that join a record logged with ctx to
	// its invocation inv, in the names the cloud's log reader expects at
	// the top level of an entry: Lambda's requestId, Cloud Logging's trace
	// and labels, or InvocationFields. The handler passes them to
	// slog.Handler.WithAttrs once per invocation, so that they are
	// formatted once, not once per record.
	Fields func(ctx context.Context, inv *core.Invocation) []slog.Attr

	// Handler, when set, returns the handler that writes records logged
	// with ctx in place of the process's handler (base), or nil for base:
	// Azure's, which also keeps the lines for the invocation's reply. For
	// an invocation's records it is called where Fields is, and the fields
	// are added to the handler it returns; for a record without an
	// invocation in its context it is called for each record.
	Handler func(ctx context.Context, base slog.Handler) slog.Handler

	// BySpan derives a handler for each span of an invocation rather than
	// one for the whole invocation, for Fields that name the current span
	// (Cloud Logging's spanId, when tracing is on).
	BySpan bool
}

// LogHandler is the process's log handler on every cloud: a slog.Handler
// that writes a record logged with an invocation's context through a
// handler derived for that invocation, the base handler with the
// invocation's fields (LogOptions.Fields) added by WithAttrs. The derived
// handler is made at the invocation's first record and kept for the rest
// of the invocation in the context that WithInvocationLog returns, so the
// fields are formatted once per invocation and an invocation that logs
// nothing pays nothing for them.
//
// Functions log with the ordinary slog.InfoContext(ctx, …). The fields are
// at the top level of each line whatever attributes and groups a logger was
// opened with (logger.With, logger.WithGroup), before them, where log
// readers look for an entry's request id and trace: the handler replays a
// logger's WithAttrs and WithGroup calls on the invocation's handler.
// A record without an invocation in its context goes to the base handler
// (or the one LogOptions.Handler returns).
type LogHandler struct {
	base  slog.Handler // the handler outside any invocation, before any scope
	cur   slog.Handler // base with scope applied
	opts  *LogOptions  // shared, never changed
	scope []func(slog.Handler) slog.Handler
}

var _ slog.Handler = (*LogHandler)(nil)

// NewLogHandler wraps base, a handler made with the cloud's
// slog.HandlerOptions (its key names, RedactAttr). A nil opts, or one
// without Fields, adds no fields.
func NewLogHandler(base slog.Handler, opts *LogOptions) *LogHandler {
	o := LogOptions{}
	if opts != nil {
		o = *opts
	}
	return &LogHandler{base: base, cur: base, opts: &o}
}

// Enabled reports whether the base handler handles level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.cur.Enabled(ctx, level)
}

// Handle writes r through the handler of the invocation in ctx, if any,
// and through the base handler otherwise.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		if h.opts.Handler != nil {
			if d := h.opts.Handler(ctx, h.base); d != nil {
				return h.replay(d).Handle(ctx, r)
			}
		}
		return h.cur.Handle(ctx, r)
	}
	return h.invocationHandler(ctx, inv).Handle(ctx, r)
}

// WithAttrs returns a handler whose records carry attrs, after the
// invocation's fields.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(h.cur.WithAttrs(attrs), func(j slog.Handler) slog.Handler { return j.WithAttrs(attrs) })
}

// WithGroup returns a handler whose later attributes are in group name;
// the invocation's fields stay at the top level.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(h.cur.WithGroup(name), func(j slog.Handler) slog.Handler { return j.WithGroup(name) })
}

func (h *LogHandler) with(cur slog.Handler, apply func(slog.Handler) slog.Handler) *LogHandler {
	scope := make([]func(slog.Handler) slog.Handler, len(h.scope), len(h.scope)+1)
	copy(scope, h.scope)
	return &LogHandler{base: h.base, cur: cur, opts: h.opts, scope: append(scope, apply)}
}

// invocationHandler returns the handler of inv's records logged with ctx
// through h: the one kept in ctx, or one derived now (and kept, when ctx
// has room for it).
func (h *LogHandler) invocationHandler(ctx context.Context, inv *core.Invocation) slog.Handler {
	var span trace.SpanID
	if h.opts.BySpan {
		span = trace.SpanContextFromContext(ctx).SpanID()
	}
	l, _ := ctx.Value(logKey{}).(*invocationLog)
	if l != nil {
		if d := l.find(h, inv, span); d != nil {
			return d
		}
	}
	d := h.derive(ctx, inv)
	if l != nil {
		l.add(logEntry{h: h, inv: inv, span: span, handler: d})
	}
	return d
}

// derive makes the handler of inv's records: the base (or the one
// LogOptions.Handler returns) with the invocation's fields, then h's
// attributes and groups.
func (h *LogHandler) derive(ctx context.Context, inv *core.Invocation) slog.Handler {
	d := h.base
	if h.opts.Handler != nil {
		if o := h.opts.Handler(ctx, d); o != nil {
			d = o
		}
	}
	if h.opts.Fields != nil {
		if attrs := h.opts.Fields(ctx, inv); len(attrs) > 0 {
			d = d.WithAttrs(attrs)
		}
	}
	return h.replay(d)
}

// replay makes h's WithAttrs and WithGroup calls on d.
func (h *LogHandler) replay(d slog.Handler) slog.Handler {
	for _, apply := range h.scope {
		d = apply(d)
	}
	return d
}

// InvocationFields is the LogOptions.Fields of the clouds without a log
// format of their own (Azure, the local runtime): the invocation's
// "invocation_id" and "function" and, when a trace came with it,
// "trace_id".
func InvocationFields(_ context.Context, inv *core.Invocation) []slog.Attr {
	attrs := []slog.Attr{slog.String("invocation_id", inv.ID), slog.String("function", inv.Function)}
	if !inv.Trace.IsZero() {
		attrs = append(attrs, slog.String("trace_id", inv.Trace.TraceID))
	}
	return attrs
}

type logKey struct{}

// WithInvocationLog returns a copy of ctx that keeps the log handlers an
// invocation's records are written by (LogHandler), once derived, for the
// rest of the invocation. Adapters call it where an invocation begins, with
// the context the invocation runs in, before or after core.WithInvocation.
// Without it, records are still written with the invocation's fields, at
// the cost of deriving the handler for each.
func WithInvocationLog(ctx context.Context) context.Context {
	return &invocationLog{Context: ctx}
}

// maxLogEntries bounds the handlers an invocation keeps: one per logger
// (the process's, and each made by With or WithGroup) that logged in it,
// and per span with LogOptions.BySpan. A function that makes a logger for
// every record derives a handler for each beyond these.
const maxLogEntries = 8

// invocationLog is the context value of WithInvocationLog, a context of its
// own to save the invocation an allocation.
type invocationLog struct {
	context.Context
	mu      sync.Mutex
	first   logEntry // most invocations log through one logger
	more    []logEntry
	entries int
}

// logEntry is one derived handler: the handler of inv's records logged
// through h, in span.
type logEntry struct {
	h       *LogHandler
	inv     *core.Invocation
	span    trace.SpanID
	handler slog.Handler
}

func (l *invocationLog) Value(key any) any {
	if key == (logKey{}) {
		return l
	}
	return l.Context.Value(key)
}

func (l *invocationLog) String() string { return "telemetry.WithInvocationLog" }

func (l *invocationLog) find(h *LogHandler, inv *core.Invocation, span trace.SpanID) slog.Handler {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == 0 {
		return nil
	}
	if e := &l.first; e.h == h && e.inv == inv && e.span == span {
		return e.handler
	}
	for i := range l.more {
		if e := &l.more[i]; e.h == h && e.inv == inv && e.span == span {
			return e.handler
		}
	}
	return nil
}

func (l *invocationLog) add(e logEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.entries == 0:
		l.first = e
	case l.entries < maxLogEntries:
		l.more = append(l.more, e)
	default:
		return
	}
	l.entries++
}

package core

import (
	"context"
	"log/slog"
)

// LogHandler is a slog.Handler that adds the invocation's metadata from the
// context to every record: invocation_id, function, cloud and, when a trace
// was received, trace_id. Wrap the process's handler in it once at start-up;
// functions then log with the ordinary slog.InfoContext(ctx, …).
type LogHandler struct {
	slog.Handler
}

// NewLogHandler wraps inner.
func NewLogHandler(inner slog.Handler) *LogHandler { return &LogHandler{Handler: inner} }

// Handle adds the invocation attributes and passes the record on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if inv, ok := InvocationFrom(ctx); ok {
		r.AddAttrs(slog.String("invocation_id", inv.ID), slog.String("function", inv.Function))
		if !inv.Trace.IsZero() {
			r.AddAttrs(slog.String("trace_id", inv.Trace.TraceID))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the inner handler's result.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the inner handler's result.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithGroup(name)}
}

package local

import (
	"io"
	"log/slog"
	"strings"

	"github.com/polyfn/polyfn/telemetry"
)

// NewLogHandler returns the local runtime's log handler: readable text for a
// person at a terminal (slog.TextHandler), or JSON lines when format is
// "json" (slog.JSONHandler). A record logged with an invocation's context
// carries its invocation_id, function and trace_id after the message
// (telemetry.InvocationFields, added once per invocation by
// telemetry.LogHandler); secrets are redacted (telemetry.RedactAttr).
func NewLogHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	return telemetry.NewLogHandler(newBaseHandler(w, format, level), &telemetry.LogOptions{Fields: telemetry.InvocationFields})
}

// newBaseHandler is the handler of records outside an invocation, from
// which each invocation's is derived.
func newBaseHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: telemetry.RedactAttr}
	if strings.EqualFold(strings.TrimSpace(format), "json") {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

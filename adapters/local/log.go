package local

import (
	"io"
	"log/slog"
	"strings"

	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
)

// NewLogHandler returns the local runtime's log handler: readable text for a
// person at a terminal, or JSON lines when format is "json". A record logged
// with an invocation's context carries its invocation_id, function and
// trace_id after the message (telemetry.StampInvocation); secrets are
// redacted (telemetry.RedactAttr).
func NewLogHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	if strings.EqualFold(strings.TrimSpace(format), "json") {
		return jsonlog.New(w, &jsonlog.Options{
			Level: level, ReplaceAttr: telemetry.RedactAttr, AppendContext: telemetry.AppendInvocation,
		})
	}
	return telemetry.NewStampHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: telemetry.RedactAttr}),
		telemetry.StampInvocation)
}

package local

import (
	"io"
	"log/slog"
	"strings"

	"github.com/polyfn/polyfn/core/telemetry"
)

// NewLogHandler returns the local runtime's log handler: readable text for a
// person at a terminal, or JSON lines when format is "json"; secrets are
// redacted (telemetry.RedactAttr).
func NewLogHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: telemetry.RedactAttr}
	if strings.EqualFold(strings.TrimSpace(format), "json") {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

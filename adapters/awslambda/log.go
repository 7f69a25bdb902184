package awslambda

import (
	"context"
	"io"
	"log/slog"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// NewLogHandler returns a slog handler that writes one JSON object per line
// in Lambda's JSON log format, which CloudWatch Logs Insights reads and
// Lambda's log-level filtering understands: "timestamp" (RFC 3339, UTC, in
// milliseconds), "level" (TRACE, DEBUG, INFO, WARN, ERROR, FATAL), "message",
// and for a record logged with an invocation's context its "requestId" and,
// when Lambda passed one, the X-Ray "traceId" (the trace header's Root).
// The request id and trace id follow the message; every attribute follows
// them at the top level; secrets are redacted (telemetry.RedactAttr).
//
// It is slog.JSONHandler, with a handler per invocation that carries the
// invocation's fields (telemetry.LogHandler).
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return telemetry.NewLogHandler(newJSONHandler(w, level), &telemetry.LogOptions{Fields: invocationFields})
}

// newJSONHandler is the handler of records outside an invocation, from
// which each invocation's is derived.
func newJSONHandler(w io.Writer, level slog.Leveler) *slog.JSONHandler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceAttr})
}

// invocationFields are the invocation's request id and, when Lambda passed
// one, its X-Ray trace id.
func invocationFields(_ context.Context, inv *core.Invocation) []slog.Attr {
	if inv.Trace.IsZero() {
		return []slog.Attr{slog.String("requestId", inv.ID)}
	}
	return []slog.Attr{slog.String("requestId", inv.ID), slog.String("traceId", inv.Trace.TraceID)}
}

// replaceAttr names the record's built-in fields as Lambda does (and an
// attribute named like one of them at the top level) and redacts secrets.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	return telemetry.RedactAttr(groups, lambdaAttr(groups, a))
}

// lambdaTimeLayout is Lambda's timestamp: RFC 3339 in UTC, in milliseconds.
const lambdaTimeLayout = "2006-01-02T15:04:05.000Z"

// lambdaAttr renames the record's time, level and message. slog hands an
// attribute of the record's own with the same key at the top level here
// too, and it is renamed alike; one of another kind (a string "time") is
// left as it is.
func lambdaAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if a.Value.Kind() == slog.KindTime {
			return slog.String("timestamp", a.Value.Time().UTC().Format(lambdaTimeLayout))
		}
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, lambdaLevel(l))
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// lambdaLevel names a slog level with the levels of Lambda's log-level
// filtering.
func lambdaLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "TRACE"
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	case l < slog.LevelError+4:
		return "ERROR"
	}
	return "FATAL"
}

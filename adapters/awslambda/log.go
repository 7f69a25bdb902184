package awslambda

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
)

// NewLogHandler returns a slog handler that writes one JSON object per line
// in Lambda's JSON log format, which CloudWatch Logs Insights reads and
// Lambda's log-level filtering understands: "timestamp" (RFC 3339, UTC, in
// milliseconds), "level" (TRACE, DEBUG, INFO, WARN, ERROR, FATAL), "message",
// and for a record logged with an invocation's context its "requestId" and,
// when Lambda passed one, the X-Ray "traceId" (the trace header's Root).
// The request id and trace id follow the message; every attribute follows
// them at the top level; secrets are redacted (telemetry.RedactAttr).
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return jsonlog.New(w, &jsonlog.Options{
		Level:         level,
		TimeKey:       "timestamp",
		AppendTime:    appendLambdaTime,
		LevelName:     lambdaLevel,
		ReplaceAttr:   replaceAttr,
		AppendContext: appendInvocation,
	})
}

// replaceAttr renames the message (and an attribute named like a built-in
// field at the top level, as slog.JSONHandler with lambdaAttr did) and
// redacts secrets.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	return telemetry.RedactAttr(groups, lambdaAttr(groups, a))
}

// lambdaTimeLayout is Lambda's timestamp: RFC 3339 in UTC, in milliseconds.
const lambdaTimeLayout = "2006-01-02T15:04:05.000Z"

// appendLambdaTime writes a record's time as lambdaAttr writes a time,
// digit by digit: formatting by the layout parses it every time, a tenth
// of a record's cost.
func appendLambdaTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	b = append(b, '"')
	b, ok := jsonlog.AppendDateTime(b, t)
	if !ok {
		b = t.AppendFormat(b, lambdaTimeLayout)
		return append(b, '"')
	}
	b = append(b, '.')
	b = jsonlog.AppendDigits(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z', '"')
}

// appendInvocation writes the invocation's request id and, when Lambda
// passed one, its X-Ray trace id, after the message.
func appendInvocation(ctx context.Context, b []byte) []byte {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		return b
	}
	b = jsonlog.AppendMember(b, "requestId", inv.ID)
	if !inv.Trace.IsZero() {
		b = jsonlog.AppendMember(b, "traceId", inv.Trace.TraceID)
	}
	return b
}

func lambdaAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("timestamp", a.Value.Time().UTC().Format(lambdaTimeLayout))
	case slog.LevelKey:
		l, _ := a.Value.Any().(slog.Level)
		return slog.String(slog.LevelKey, lambdaLevel(l))
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

package azurefunctions

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/polyfn/polyfn/telemetry"
)

// The host writes the Logs of a default-mode reply to the invocation's own
// log (Application Insights traces with the invocation id), where the
// process's stdout only reaches the host's log. A reply carries at most
// maxLogLines lines of at most maxLogBytes in all; the rest still reach stdout.
const (
	maxLogLines = 1000
	maxLogBytes = 1 << 20
)

type logsKey struct{}

// logBuffer collects the log lines of one invocation. Goroutines that the
// function starts may log into it concurrently.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	size    int
	dropped int
	closed  bool
}

func withLogs(ctx context.Context, b *logBuffer) context.Context {
	return context.WithValue(ctx, logsKey{}, b)
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
	case len(b.lines) >= maxLogLines || b.size+len(line) > maxLogBytes:
		b.dropped++
	default:
		b.lines = append(b.lines, line)
		b.size += len(line)
	}
}

// close returns the lines and ignores any logged after: the reply is sent.
func (b *logBuffer) close() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	lines := b.lines
	if lines == nil {
		lines = []string{}
	}
	if b.dropped > 0 {
		lines = append(lines, fmt.Sprintf("azurefunctions: %d more log lines of this invocation are on stdout only", b.dropped))
	}
	return lines
}

// NewLogHandler returns the log handler of the azure build: JSON lines,
// which the host collects from the process, secrets redacted
// (telemetry.RedactAttr); records below slog.LevelWarn to stdout, the others
// to stderr, which the host reports as errors; records at level or above
// (slog.LevelInfo when nil). A record logged with an invocation's context
// carries its invocation_id, function and, when the host sent one, trace_id
// after the message (telemetry.InvocationFields); one logged with the
// context of a default-mode invocation (or of the host's request for one,
// as the adapter's own warnings are) is also kept, the same line, for the
// Logs of that invocation's reply. Log with slog.InfoContext(ctx, …)
// for a line to reach the invocation's log.
//
// It is slog.JSONHandler, with a handler per invocation that carries the
// invocation's fields and writes each line to the Logs too
// (telemetry.LogHandler), so a line is formatted once for both.
func NewLogHandler(stdout, stderr io.Writer, level slog.Leveler) slog.Handler {
	out, errs := &lockedWriter{w: stdout}, &lockedWriter{w: stderr}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: telemetry.RedactAttr}
	base := byLevel{low: slog.NewJSONHandler(out, opts), high: slog.NewJSONHandler(errs, opts)}
	return telemetry.NewLogHandler(base, &telemetry.LogOptions{
		Fields: telemetry.InvocationFields,
		Handler: func(ctx context.Context, base slog.Handler) slog.Handler {
			logs, ok := ctx.Value(logsKey{}).(*logBuffer)
			if !ok {
				return nil
			}
			return byLevel{
				low:  slog.NewJSONHandler(keepingWriter{out, logs}, opts),
				high: slog.NewJSONHandler(keepingWriter{errs, logs}, opts),
			}
		},
	})
}

// byLevel sends records below slog.LevelWarn to one handler and the
// others to another.
type byLevel struct{ low, high slog.Handler }

func (h byLevel) pick(l slog.Level) slog.Handler {
	if l >= slog.LevelWarn {
		return h.high
	}
	return h.low
}

func (h byLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return h.pick(l).Enabled(ctx, l)
}

func (h byLevel) Handle(ctx context.Context, r slog.Record) error {
	return h.pick(r.Level).Handle(ctx, r)
}

func (h byLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return byLevel{low: h.low.WithAttrs(attrs), high: h.high.WithAttrs(attrs)}
}

func (h byLevel) WithGroup(name string) slog.Handler {
	return byLevel{low: h.low.WithGroup(name), high: h.high.WithGroup(name)}
}

// lockedWriter writes one line at a time: the handlers of the process and
// of each invocation write to the same stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(line []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(line)
}

// keepingWriter writes each line, which slog.JSONHandler writes whole and
// ending in a newline, to the process's output and keeps it for an
// invocation's Logs.
type keepingWriter struct {
	w    *lockedWriter
	logs *logBuffer
}

func (w keepingWriter) Write(line []byte) (int, error) {
	w.logs.add(string(bytes.TrimSuffix(line, []byte("\n"))))
	return w.w.Write(line)
}

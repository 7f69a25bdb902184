package azurefunctions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"

	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
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

// LogHandler is a slog.Handler that writes every record to an inner handler
// (the process's stdout, which the host collects) and, for records logged
// with the context of a default-mode invocation, also keeps the record as a
// JSON line for the Logs of that invocation's reply, with secrets redacted
// (telemetry.RedactAttr) and the invocation's id, function and trace after
// the message (telemetry.AppendInvocation). Log with
// slog.InfoContext(ctx, …) for a line to reach the invocation's log.
//
// When inner is a *JSONHandler, whose lines are the Logs lines, a kept
// record is formatted once for both.
type LogHandler struct {
	inner slog.Handler
	json  *JSONHandler // inner, when it is one
	// lines renders kept records, with this handler's attributes and
	// groups; it writes nowhere.
	lines *jsonlog.Handler
}

var _ slog.Handler = (*LogHandler)(nil)

// NewLogHandler wraps inner.
func NewLogHandler(inner slog.Handler) *LogHandler {
	return newLogHandler(inner, newLines())
}

func newLogHandler(inner slog.Handler, lines *jsonlog.Handler) *LogHandler {
	j, _ := inner.(*JSONHandler)
	return &LogHandler{inner: inner, json: j, lines: lines}
}

// newLines returns a handler that renders JSON lines, secrets redacted and
// the invocation stamped, and writes nowhere.
func newLines() *jsonlog.Handler {
	return jsonlog.New(io.Discard, &jsonlog.Options{
		Level: allLevels, ReplaceAttr: telemetry.RedactAttr, AppendContext: telemetry.AppendInvocation,
	})
}

// Enabled reports whether inner handles level: the Logs keep what stdout gets.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle keeps the record for the invocation in ctx, if any, and passes it on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	b, ok := ctx.Value(logsKey{}).(*logBuffer)
	if !ok {
		return h.inner.Handle(ctx, r)
	}
	level := r.Level
	err := h.lines.WriteRecord(ctx, r, func(line []byte) error {
		b.add(string(line[:len(line)-1])) // without the newline
		if h.json != nil {
			return h.json.writeLine(level, line)
		}
		return nil
	})
	if h.json != nil {
		return err
	}
	return h.inner.Handle(ctx, r)
}

// allLevels renders every record that reaches render: Enabled filtered already.
const allLevels = slog.Level(math.MinInt32)

// WithAttrs returns a handler whose records carry attrs, in both outputs.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return newLogHandler(h.inner.WithAttrs(attrs), h.lines.WithAttrs(attrs).(*jsonlog.Handler))
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return newLogHandler(h.inner.WithGroup(name), h.lines.WithGroup(name).(*jsonlog.Handler))
}

// JSONHandler is the handler of the process's own output, which the host
// collects: JSON lines, secrets redacted and the invocation stamped,
// written as the Logs lines are;
// records below slog.LevelWarn to stdout, the others to stderr, which the
// host reports as errors.
type JSONHandler struct {
	level          slog.Leveler
	lines          *jsonlog.Handler
	stdout, stderr *lockedWriter
}

var _ slog.Handler = (*JSONHandler)(nil)

// lockedWriter writes one line at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONHandler returns a JSONHandler that writes records at level or
// above (slog.LevelInfo when nil) to stdout or stderr.
func NewJSONHandler(stdout, stderr io.Writer, level slog.Leveler) *JSONHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &JSONHandler{level: level, lines: newLines(), stdout: &lockedWriter{w: stdout}, stderr: &lockedWriter{w: stderr}}
}

// Enabled reports whether level is at least the handler's.
func (h *JSONHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Handle writes r as one line.
func (h *JSONHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	return h.lines.WriteRecord(ctx, r, func(line []byte) error { return h.writeLine(level, line) })
}

// writeLine writes line, which ends in a newline, where records at level
// go.
func (h *JSONHandler) writeLine(level slog.Level, line []byte) error {
	w := h.stdout
	if level >= slog.LevelWarn {
		w = h.stderr
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.w.Write(line)
	return err
}

// WithAttrs returns a handler whose records carry attrs.
func (h *JSONHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.lines = h.lines.WithAttrs(attrs).(*jsonlog.Handler)
	return &h2
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *JSONHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.lines = h.lines.WithGroup(name).(*jsonlog.Handler)
	return &h2
}

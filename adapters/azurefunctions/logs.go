package azurefunctions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"

	"github.com/polyfn/polyfn/core/telemetry"
	"github.com/polyfn/polyfn/core/telemetry/jsonlog"
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
// (telemetry.RedactAttr). Log with
// slog.InfoContext(ctx, …) for a line to reach the invocation's log.
type LogHandler struct {
	inner slog.Handler
	// lines renders kept records, with this handler's attributes and
	// groups; it writes nowhere.
	lines *jsonlog.Handler
}

var _ slog.Handler = (*LogHandler)(nil)

// NewLogHandler wraps inner.
func NewLogHandler(inner slog.Handler) *LogHandler {
	return &LogHandler{inner: inner, lines: newJSON(io.Discard, allLevels)}
}

// NewJSONHandler returns the handler of the process's own output: JSON
// lines, secrets redacted, as the Logs lines are written.
func NewJSONHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return newJSON(w, level)
}

func newJSON(w io.Writer, level slog.Leveler) *jsonlog.Handler {
	return jsonlog.New(w, &jsonlog.Options{Level: level, ReplaceAttr: telemetry.RedactAttr})
}

// Enabled reports whether inner handles level: the Logs keep what stdout gets.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle keeps the record for the invocation in ctx, if any, and passes it on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if b, ok := ctx.Value(logsKey{}).(*logBuffer); ok {
		b.add(h.render(r))
	}
	return h.inner.Handle(ctx, r)
}

// allLevels renders every record that reaches render: Enabled filtered already.
const allLevels = slog.Level(math.MinInt32)

// lineBuffers hold a line while it is rendered.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledLine is the longest line whose buffer goes back to the pool.
const maxPooledLine = 64 << 10

// render formats r as one JSON line, with this handler's attributes and groups.
func (h *LogHandler) render(r slog.Record) string {
	buf := lineBuffers.Get().(*[]byte)
	*buf = h.lines.AppendRecord((*buf)[:0], r)
	line := string(*buf)
	if cap(*buf) <= maxPooledLine {
		lineBuffers.Put(buf)
	}
	return line
}

// WithAttrs returns a handler whose records carry attrs, in both outputs.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{inner: h.inner.WithAttrs(attrs), lines: h.lines.WithAttrs(attrs).(*jsonlog.Handler)}
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{inner: h.inner.WithGroup(name), lines: h.lines.WithGroup(name).(*jsonlog.Handler)}
}

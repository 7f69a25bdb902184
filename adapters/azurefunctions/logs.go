package azurefunctions

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"

	"github.com/polyfn/polyfn/core/telemetry"
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
	// scope replays the WithAttrs and WithGroup calls made on this handler
	// onto the handler that renders a kept record, in order.
	scope []func(slog.Handler) slog.Handler
	// renderers keeps *renderer values: a JSON handler with the scope
	// applied and the buffer it writes to, made once rather than per record.
	renderers sync.Pool
}

var _ slog.Handler = (*LogHandler)(nil)

// NewLogHandler wraps inner.
func NewLogHandler(inner slog.Handler) *LogHandler { return newLogHandler(inner, nil) }

func newLogHandler(inner slog.Handler, scope []func(slog.Handler) slog.Handler) *LogHandler {
	h := &LogHandler{inner: inner, scope: scope}
	h.renderers.New = func() any {
		rd := &renderer{}
		var j slog.Handler = slog.NewJSONHandler(&rd.buf, &slog.HandlerOptions{Level: allLevels, ReplaceAttr: telemetry.RedactAttr})
		for _, apply := range h.scope {
			j = apply(j)
		}
		rd.h = j
		return rd
	}
	return h
}

// Enabled reports whether inner handles level: the Logs keep what stdout gets.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle keeps the record for the invocation in ctx, if any, and passes it on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if b, ok := ctx.Value(logsKey{}).(*logBuffer); ok {
		b.add(h.render(ctx, r))
	}
	return h.inner.Handle(ctx, r)
}

// allLevels renders every record that reaches render: Enabled filtered already.
const allLevels = slog.Level(math.MinInt32)

// renderer formats kept records: one goroutine at a time uses it.
type renderer struct {
	h   slog.Handler
	buf bytes.Buffer
}

// maxPooledLine is the longest line whose buffer goes back to the pool.
const maxPooledLine = 64 << 10

// render formats r as one JSON line, with this handler's attributes and groups.
func (h *LogHandler) render(ctx context.Context, r slog.Record) string {
	rd := h.renderers.Get().(*renderer)
	rd.buf.Reset()
	_ = rd.h.Handle(ctx, r) // writes to memory
	line := strings.TrimSuffix(rd.buf.String(), "\n")
	if rd.buf.Cap() <= maxPooledLine {
		h.renderers.Put(rd)
	}
	return line
}

// WithAttrs returns a handler whose records carry attrs, in both outputs.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(h.inner.WithAttrs(attrs), func(j slog.Handler) slog.Handler { return j.WithAttrs(attrs) })
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return h.with(h.inner.WithGroup(name), func(j slog.Handler) slog.Handler { return j.WithGroup(name) })
}

func (h *LogHandler) with(inner slog.Handler, apply func(slog.Handler) slog.Handler) *LogHandler {
	scope := make([]func(slog.Handler) slog.Handler, len(h.scope), len(h.scope)+1)
	copy(scope, h.scope)
	return newLogHandler(inner, append(scope, apply))
}

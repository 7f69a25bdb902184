package telemetrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/google/go-cmp/cmp"
)

// LogScripts returns n pseudo-random scripts for RunLogScript, the same
// ones for the same seed, each up to 200 bytes.
func LogScripts(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	scripts := make([][]byte, n)
	for i := range scripts {
		data := make([]byte, rng.IntN(200))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		scripts[i] = data
	}
	return scripts
}

// AddLogSeeds adds the corpus every log-shape fuzz target starts from: an
// empty script and two that nest groups and attributes.
func AddLogSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x02\x01\x00\x03\x04\x00\x17\x02\x01\x05\x00\x18\x02\x03\x00\x0e"))
	f.Add([]byte("\x00\x02\x18\x01\x03\x00\x00\x01\x19\x02\x02\x03\x03\x01\x04\x01\x04"))
}

// CheckLogScripts runs check on n scripts of LogScripts(seed, n), the
// body of a cloud's TestLogHandlerShape.
func CheckLogScripts(t *testing.T, seed uint64, n int, check func(t *testing.T, data []byte)) {
	t.Helper()
	for _, data := range LogScripts(seed, n) {
		check(t, data)
	}
}

// FuzzLogScripts fuzzes check from the corpus of AddLogSeeds, the body of
// a cloud's FuzzLogHandlerShape.
func FuzzLogScripts(f *testing.F, check func(t *testing.T, data []byte)) {
	AddLogSeeds(f)
	f.Fuzz(check)
}

// LogContext is a context a log-shape check runs its script in, with the
// invocation's fields the lines logged in it must carry (LogShape.Fields).
type LogContext struct {
	Ctx    context.Context
	Fields string
}

// CheckLogShape runs the script data through newHandler, a cloud's handler
// writing one stream of JSON lines, and through newBase, the
// slog.JSONHandler with the cloud's options it is made of, in each of
// contexts: each line must be the base handler's with the context's fields
// after the message, whatever attributes and groups the script opened
// (CheckLogLines, with shape's keys), and both handlers must panic alike.
func CheckLogShape(t testing.TB, data []byte, shape LogShape, contexts []LogContext, newBase, newHandler func(w io.Writer) slog.Handler) {
	t.Helper()
	for _, c := range contexts {
		shape.Fields = c.Fields
		var want, got bytes.Buffer
		CheckLogScript(t, c.Ctx, data, shape, newBase(&want), newHandler(&got), LogOutput{Want: &want, Got: &got})
	}
}

// LogOutput is one stream a log-shape check compares: what the base
// handler wrote to it and what the cloud's handler wrote to its own.
type LogOutput struct {
	Want, Got *bytes.Buffer
}

// CheckLogScript runs the script data with ctx through base, the
// slog.JSONHandler (or handlers) with a cloud's options, and through h, the
// cloud's handler; it then checks each of outputs, in order, with
// CheckLogLines and shape, and fails t unless both handlers panicked alike.
func CheckLogScript(t testing.TB, ctx context.Context, data []byte, shape LogShape, base, h slog.Handler, outputs ...LogOutput) {
	t.Helper()
	wantPanics := RunLogScript(ctx, base, data)
	gotPanics := RunLogScript(ctx, h, data)
	for _, o := range outputs {
		CheckLogLines(t, data, shape, o.Want.String(), o.Got.String())
	}
	if diff := cmp.Diff(wantPanics, gotPanics); diff != "" {
		t.Fatalf("script %q: panics differ (-want +got):\n%s", data, diff)
	}
}

// LogShape is what every JSON line of a cloud's log handler must be.
type LogShape struct {
	// MessageKey is the message's key ("message", "msg"); the invocation's
	// fields follow the message.
	MessageKey string
	// Fields are the invocation's members as the line must carry them,
	// encoded and joined by commas (`"requestId":"…","traceId":"…"`);
	// empty for records logged outside an invocation.
	Fields string
	// Required are the keys every line has, besides the message's.
	Required []string
}

// CheckLogLines fails t unless got, the JSON lines a cloud's handler wrote
// for a script (RunLogScript), are want, the lines its base handler (the
// slog.JSONHandler with the cloud's options) wrote for the same script,
// each with shape.Fields right after the message, at the top level whatever
// groups the script opened; and unless each line is a JSON object with the
// required keys. A line that slog.JSONHandler itself writes as invalid JSON
// (for a time outside the years 0 to 9999, where it writes an error before
// the time) is only compared.
func CheckLogLines(t testing.TB, script []byte, shape LogShape, want, got string) {
	t.Helper()
	wantLines, gotLines := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wantLines) != len(gotLines) {
		t.Fatalf("script %q: %d lines, want %d:\n%s\nwant:\n%s", script, len(gotLines), len(wantLines), got, want)
	}
	for i, w := range wantLines {
		g := gotLines[i]
		if w == "" && g == "" {
			continue
		}
		if shape.Fields != "" {
			w = insertAfterMessage(t, script, w, shape)
		}
		if g != w {
			t.Fatalf("script %q: line %d differs (-want +got):\n%s", script, i, cmp.Diff(w, g))
		}
		if !json.Valid([]byte(w)) {
			continue
		}
		var m map[string]json.RawMessage
		d := json.NewDecoder(bytes.NewReader([]byte(g)))
		if err := d.Decode(&m); err != nil {
			t.Fatalf("script %q: line %d is not a JSON object: %v\n%s", script, i, err, g)
		}
		for _, k := range append([]string{shape.MessageKey}, shape.Required...) {
			if _, ok := m[k]; !ok {
				t.Fatalf("script %q: line %d lacks %q:\n%s", script, i, k, g)
			}
		}
	}
}

// insertAfterMessage returns line with the fields of shape after its
// message member, the first with the message's key: the members before it
// are the record's time and level.
func insertAfterMessage(t testing.TB, script []byte, line string, shape LogShape) string {
	t.Helper()
	key := `"` + shape.MessageKey + `":"`
	at := strings.Index(line, key)
	if at < 0 {
		t.Fatalf("script %q: the base handler's line has no %s member:\n%s", script, shape.MessageKey, line)
	}
	i := at + len(key)
	for i < len(line) && line[i] != '"' {
		if line[i] == '\\' {
			i++
		}
		i++
	}
	i++ // the closing quote
	if i > len(line) {
		t.Fatalf("script %q: the message does not end:\n%s", script, line)
	}
	return line[:i] + "," + shape.Fields + line[i:]
}

// TestLogHandler runs slogtest on the handlers that newHandler makes,
// writing JSON lines to w, with each record logged with ctx (an
// invocation's, or context.Background()). Keys maps the line's keys to
// slog's names (Lambda's "timestamp" to "time"); the members named in drop
// (the invocation's fields) are left out of what slogtest checks.
func TestLogHandler(t *testing.T, ctx context.Context, newHandler func(w io.Writer) slog.Handler, keys map[string]string, drop ...string) {
	var buf bytes.Buffer
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		buf.Reset()
		return contextHandler{newHandler(&buf), ctx}
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, buf.Bytes())
		}
		for from, to := range keys {
			if v, ok := m[from]; ok {
				delete(m, from)
				m[to] = v
			}
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	})
}

// contextHandler handles every record with its own context, as a function
// does that logs with the invocation's.
type contextHandler struct {
	slog.Handler
	ctx context.Context
}

func (h contextHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.Handler.Enabled(h.ctx, l)
}

func (h contextHandler) Handle(_ context.Context, r slog.Record) error {
	return h.Handler.Handle(h.ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs), h.ctx}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name), h.ctx}
}

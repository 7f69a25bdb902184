package jsonlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
	"github.com/polyfn/polyfn/telemetry/jsonlog/jsonlogtest"
)

func TestSlogtest(t *testing.T) {
	var buf bytes.Buffer
	newHandler := func(*testing.T) slog.Handler {
		buf.Reset()
		return jsonlog.New(&buf, nil)
	}
	result := func(t *testing.T) map[string]any {
		m := map[string]any{}
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, buf.Bytes())
		}
		return m
	}
	slogtest.Run(t, newHandler, result)
}

// formats pairs each ReplaceAttr with the Options that write the built-in
// time and level as that ReplaceAttr turns them out.
var formats = []struct {
	name    string
	replace func([]string, slog.Attr) slog.Attr
	opts    jsonlog.Options
}{
	{"plain", nil, jsonlog.Options{}},
	{"identity", func(_ []string, a slog.Attr) slog.Attr { return a }, jsonlog.Options{}},
	{"redact", telemetry.RedactAttr, jsonlog.Options{}},
	{"renames", renames, jsonlog.Options{
		TimeKey: "ts",
		AppendTime: func(b []byte, t time.Time) []byte {
			return append(append(append(b, '"'), t.UTC().Format(time.DateTime)...), '"')
		},
		LevelKey:  "sev",
		LevelName: func(l slog.Level) string { return "L" + l.String() },
	}},
}

// renames is a ReplaceAttr that exercises what one may do: rename the
// built-in fields, drop attributes, turn values into groups and empty
// attributes, and depend on the groups.
func renames(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey:
			return slog.String("ts", a.Value.Time().UTC().Format(time.DateTime))
		case slog.LevelKey:
			return slog.String("sev", "L"+a.Value.Any().(slog.Level).String())
		case slog.MessageKey:
			a.Key = "message"
			return a
		}
	}
	switch a.Key {
	case "status":
		return slog.Attr{}
	case "user_id":
		return slog.Group("user", slog.String("id", a.Value.String()), slog.Int("depth", len(groups)))
	case "g":
		return slog.Attr{Key: "g", Value: slog.GroupValue()}
	}
	return telemetry.RedactAttr(groups, a)
}

// check runs data through slog's JSON handler and through ours with the
// same ReplaceAttr, and fails unless they write the same bytes and panic
// alike.
func check(t *testing.T, data []byte) {
	t.Helper()
	for _, f := range formats {
		var want, got bytes.Buffer
		ref := slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.Level(-100), ReplaceAttr: f.replace})
		opts := f.opts
		opts.Level, opts.ReplaceAttr = slog.Level(-100), f.replace
		h := jsonlog.New(&got, &opts)
		wantPanics := jsonlogtest.Run(t.Context(), ref, data)
		gotPanics := jsonlogtest.Run(t.Context(), h, data)
		if diff := cmp.Diff(strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")); diff != "" {
			t.Fatalf("format %s, script %q: output differs from slog.JSONHandler's (-want +got):\n%s", f.name, data, diff)
		}
		if diff := cmp.Diff(wantPanics, gotPanics); diff != "" {
			t.Fatalf("format %s, script %q: panics differ (-want +got):\n%s", f.name, data, diff)
		}
	}
}

func TestMatchesSlogJSONHandler(t *testing.T) {
	for _, data := range jsonlogtest.Scripts(1, 3000) {
		check(t, data)
	}
}

func FuzzMatchesSlogJSONHandler(f *testing.F) {
	jsonlogtest.AddSeeds(f)
	f.Fuzz(check)
}

// TestConcurrentLines checks that records written at once by handlers
// sharing a writer come out as whole lines.
func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	w := &slowWriter{w: &buf}
	base := jsonlog.New(w, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		h := base.WithAttrs([]slog.Attr{slog.Int("worker", i)})
		wg.Go(func() {
			l := slog.New(h)
			for range 50 {
				l.Info(strings.Repeat("x", 100), "k", strings.Repeat("y", 100))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("got %d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not a whole JSON line: %q", l)
		}
	}
}

// slowWriter writes a byte at a time, so that unguarded writes interleave.
type slowWriter struct{ w io.Writer }

func (s *slowWriter) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := s.w.Write(p[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

func TestAppendRecord(t *testing.T) {
	h := jsonlog.New(io.Discard, &jsonlog.Options{ReplaceAttr: telemetry.RedactAttr}).WithGroup("g").(*jsonlog.Handler)
	r := slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), slog.LevelWarn, "m", 0)
	r.AddAttrs(slog.String("password", "x"))
	got := string(h.AppendRecord(context.Background(), []byte("prefix "), r))
	want := `prefix {"time":"2026-01-02T03:04:05Z","level":"WARN","msg":"m","g":{"password":"[REDACTED]"}}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAllocations(t *testing.T) {
	l := slog.New(jsonlog.New(io.Discard, &jsonlog.Options{ReplaceAttr: telemetry.RedactAttr}))
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		l.LogAttrs(ctx, slog.LevelInfo, "user created", slog.String("user_id", "u-17"), slog.Int("status", 201))
	}); n != 0 {
		t.Errorf("got %v allocations per record, want 0", n)
	}
}

func TestWithEmptyGroup(t *testing.T) {
	h := jsonlog.New(io.Discard, nil)
	if got := h.WithGroup(""); got != slog.Handler(h) {
		t.Errorf("WithGroup(\"\") = %p, want the receiver %p", got, h)
	}
}

// TestAppendContext checks where the context's members go: after the
// message, before the handler's attributes and outside its groups, and
// only for a record whose context has them.
func TestAppendContext(t *testing.T) {
	type key struct{}
	var buf bytes.Buffer
	h := jsonlog.New(&buf, &jsonlog.Options{
		AppendContext: func(ctx context.Context, b []byte) []byte {
			if id, ok := ctx.Value(key{}).(string); ok {
				b = append(b, `,"request":`...)
				b = jsonlog.AppendString(b, id)
			}
			return b
		},
	})
	ctx := context.WithValue(t.Context(), key{}, "r-\"1\"")
	l := slog.New(h)
	l.With("a", 1).WithGroup("g").InfoContext(ctx, "grouped", "b", 2)
	l.InfoContext(ctx, "plain", "c", 3)
	l.Info("outside", "d", 4)
	var lines []string
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		_, rest, _ := strings.Cut(line, `"level":"INFO",`)
		lines = append(lines, rest)
	}
	want := []string{
		`"msg":"grouped","request":"r-\"1\"","a":1,"g":{"b":2}}`,
		`"msg":"plain","request":"r-\"1\"","c":3}`,
		`"msg":"outside","d":4}`,
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("lines differ (-want +got):\n%s", diff)
	}
}

// TestAppendTime compares the time written digit by digit with
// time.Time.AppendFormat's RFC 3339, in zones east and west, with and
// without minutes and seconds of offset, at the edges of the years
// written.
func TestAppendTime(t *testing.T) {
	zones := []*time.Location{
		time.UTC, time.FixedZone("E", 5*3600+1800), time.FixedZone("W", -(9*3600 + 30*60)),
		time.FixedZone("S", 3600+17), time.FixedZone("Z0", 0), time.FixedZone("F", 14*3600),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2026, 12, 2, 5, 42, 28, 100, time.UTC), time.Date(2026, 12, 2, 5, 42, 28, 120000000, time.UTC),
	}
	for range 2000 {
		times = append(times, time.Unix(rng.Int64N(400_000_000_000)-62_000_000_000, rng.Int64N(1e9)))
	}
	for _, at := range times {
		for _, loc := range zones {
			at := at.In(loc)
			want := `"` + at.Format(time.RFC3339Nano) + `"`
			if y := at.Year(); y < 0 || y >= 10000 {
				want = `"!ERROR:time.Time year outside of range [0,9999]"` + want
			}
			if got := string(jsonlog.AppendTime(nil, at)); got != want {
				t.Errorf("AppendTime(%v) = %s, want %s", at, got, want)
			}
		}
	}
}

// TestEscapingMatchesSlog writes strings with each byte that needs an
// escape, and the bytes of U+2028 and of invalid UTF-8, at every position
// of a plain string longer than the eight bytes skipped at a time, as
// values and as keys, and compares the line with slog.JSONHandler's.
func TestEscapingMatchesSlog(t *testing.T) {
	specials := []string{"\"", "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x80", "\xff", "\u2028", "\u2029", "é", "\xe2\x80", " "}
	for c := range byte(0x20) {
		specials = append(specials, string([]byte{c}))
	}
	const base = "abcdefghijklmnopqrstuvwx"
	for _, sp := range specials {
		for i := 0; i <= len(base); i++ {
			v := base[:i] + sp + base[i:]
			var want, got bytes.Buffer
			r := slog.NewRecord(time.Time{}, slog.LevelInfo, v, 0)
			r.AddAttrs(slog.String(v, v))
			if err := slog.NewJSONHandler(&want, nil).Handle(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			if err := jsonlog.New(&got, nil).Handle(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("%q: got %s, want %s", v, got.String(), want.String())
			}
		}
	}
}

// TestWriteRecord checks that WriteRecord hands over the line Handle
// writes, newline included, and writes nothing itself.
func TestWriteRecord(t *testing.T) {
	var written, handled bytes.Buffer
	h := jsonlog.New(&written, &jsonlog.Options{ReplaceAttr: telemetry.RedactAttr})
	r := slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), slog.LevelWarn, "m", 0)
	r.AddAttrs(slog.String("password", "x"))
	var got string
	if err := h.WriteRecord(t.Context(), r, func(line []byte) error { got = string(line); return nil }); err != nil {
		t.Fatal(err)
	}
	if written.Len() != 0 {
		t.Errorf("WriteRecord wrote %q to the handler's writer", written.String())
	}
	if err := jsonlog.New(&handled, &jsonlog.Options{ReplaceAttr: telemetry.RedactAttr}).Handle(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if got != handled.String() {
		t.Errorf("got %q, want Handle's %q", got, handled.String())
	}
	want := errors.New("full")
	if err := h.WriteRecord(t.Context(), r, func([]byte) error { return want }); err != want {
		t.Errorf("WriteRecord returned %v, want write's error", err)
	}
}

package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// invocation returns the context of an invocation as adapters make it,
// with room for its log handlers unless bare.
func invocation(t *testing.T, id string, bare bool) context.Context {
	ctx := t.Context()
	if !bare {
		ctx = telemetry.WithInvocationLog(ctx)
	}
	inv := &core.Invocation{ID: id, Cloud: core.CloudLocal, Function: "users"}
	inv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, cancel := core.WithInvocation(ctx, inv)
	t.Cleanup(cancel)
	return ctx
}

func newJSON(w io.Writer) slog.Handler {
	return telemetry.NewLogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: telemetry.RedactAttr}),
		&telemetry.LogOptions{Fields: telemetry.InvocationFields})
}

func TestLogHandlerSlogtest(t *testing.T) {
	for name, ctx := range map[string]context.Context{
		"outside": context.Background(), "invocation": invocation(t, "i-1", false), "without room": invocation(t, "i-2", true),
	} {
		t.Run(name, func(t *testing.T) {
			telemetrytest.TestLogHandler(t, ctx, newJSON, nil, "invocation_id", "function", "trace_id")
		})
	}
}

// TestLogHandlerFieldsAtTopLevel: the invocation's fields follow the
// message, before the attributes and groups a logger was opened with, in
// records logged with the invocation's context only; secrets are redacted.
func TestLogHandlerFieldsAtTopLevel(t *testing.T) {
	for _, bare := range []bool{false, true} {
		var buf bytes.Buffer
		log := slog.New(newJSON(&buf))
		scoped := log.With("a", 1).WithGroup("g")
		ctx := invocation(t, "i-1", bare)
		scoped.InfoContext(ctx, "m", "b", 2, "password", "p")
		log.InfoContext(ctx, "m2", "c", 3)
		log.InfoContext(context.Background(), "outside")
		scoped.InfoContext(invocation(t, "i-2", bare), "m3")
		const fields = `"function":"users","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`
		for _, want := range []string{
			`"msg":"m","invocation_id":"i-1",` + fields + `,"a":1,"g":{"b":2,"password":"[REDACTED]"}}`,
			`"msg":"m2","invocation_id":"i-1",` + fields + `,"c":3}`,
			`"msg":"outside"}`,
			`"msg":"m3","invocation_id":"i-2",` + fields + `,"a":1}`,
		} {
			if got := buf.String(); !strings.Contains(got, want) {
				t.Errorf("bare %v: got %s, want it to contain %s", bare, got, want)
			}
		}
		if got := strings.Count(buf.String(), "invocation_id"); got != 3 {
			t.Errorf("bare %v: %d records with an invocation_id, want 3:\n%s", bare, got, buf.String())
		}
	}
}

// TestLogHandlerDerivesOncePerInvocation: the fields are computed once for
// each logger that logs in an invocation, not once per record, when the
// invocation has room for the handlers (WithInvocationLog).
func TestLogHandlerDerivesOncePerInvocation(t *testing.T) {
	var calls atomic.Int32
	h := telemetry.NewLogHandler(slog.NewJSONHandler(io.Discard, nil), &telemetry.LogOptions{
		Fields: func(ctx context.Context, inv *core.Invocation) []slog.Attr {
			calls.Add(1)
			return telemetry.InvocationFields(ctx, inv)
		},
	})
	log := slog.New(h)
	scoped := log.With("a", 1)
	ctx := invocation(t, "i-1", false)
	for range 10 {
		log.InfoContext(ctx, "m")
		scoped.InfoContext(ctx, "m")
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("Fields called %d times for two loggers' 20 records, want 2", got)
	}
	log.InfoContext(invocation(t, "i-2", false), "m")
	if got := calls.Load(); got != 3 {
		t.Errorf("Fields called %d times after another invocation's record, want 3", got)
	}
	// One logger per record: past the handlers an invocation keeps, each
	// record derives its own, and still carries the fields.
	for i := range 20 {
		log.With("i", i).InfoContext(ctx, "m")
	}
	if got := calls.Load(); got != 23 {
		t.Errorf("Fields called %d times, want 23", got)
	}
}

// TestLogHandlerBySpan derives a handler per span, as Cloud Logging's does.
func TestLogHandlerBySpan(t *testing.T) {
	telemetrytest.RecordSpans(t, nil)
	var buf bytes.Buffer
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil), &telemetry.LogOptions{
		Fields: func(ctx context.Context, inv *core.Invocation) []slog.Attr {
			return []slog.Attr{slog.String("span", telemetry.LogTrace(ctx, inv).SpanID)}
		},
		BySpan: true,
	}))
	ctx := invocation(t, "i-1", false)
	e, err := core.NewEvent(core.TypeTimer, "t-1", "scheduler", &core.Timer{Name: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string]bool{}
	for range 2 {
		if err := core.Invoke(ctx, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			log.InfoContext(ctx, "fired")
			return nil
		}), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		spans[m["span"].(string)] = true
	}
	if len(spans) != 2 {
		t.Errorf("the two events' records name spans %v, want two", spans)
	}
}

func TestLogHandlerNilOptions(t *testing.T) {
	var buf bytes.Buffer
	slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil), nil)).InfoContext(invocation(t, "i-1", false), "m")
	if strings.Contains(buf.String(), "i-1") {
		t.Errorf("got %s, want no fields without LogOptions.Fields", buf.String())
	}
}

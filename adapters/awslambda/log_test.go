package awslambda

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog/jsonlogtest"
)

var updateLogs = flag.Bool("update", false, "rewrite the golden files in testdata")

// logRecordTime is the fixed time of the golden records.
var logRecordTime = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.FixedZone("CET", 3600))

// logInvocation is the invocation of the golden records.
func logInvocation(t *testing.T) context.Context {
	trace, _ := core.ParseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	ctx, cancel := core.WithInvocation(t.Context(), &core.Invocation{
		ID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", Cloud: core.CloudAWS, Function: "users", Trace: trace,
	})
	t.Cleanup(cancel)
	return ctx
}

// writeGoldenRecords logs the same records through h: with and without an
// invocation, with a secret attribute, headers, a group and a handler
// opened with attributes and a group.
func writeGoldenRecords(t *testing.T, h slog.Handler) {
	t.Helper()
	ctx := logInvocation(t)
	header := http.Header{"Authorization": {"Bearer eyJhbGciOi"}, "Cookie": {"session=1"}, "Accept": {"application/json"}}
	records := []struct {
		ctx   context.Context
		h     slog.Handler
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{context.Background(), h, slog.LevelInfo, "started", []slog.Attr{slog.String("version", "1.2.3")}},
		{ctx, h, slog.LevelInfo, "user created", []slog.Attr{slog.String("user_id", "u-17"), slog.Int("status", 201)}},
		{ctx, h, slog.LevelWarn, "request", []slog.Attr{
			slog.Any("headers", header), slog.String("db_password", "hunter2"), slog.String("auth", "Basic YWxhZGRpbjpvcGVu"),
		}},
		{ctx, h.WithAttrs([]slog.Attr{slog.String("component", "store")}).WithGroup("op"), slog.LevelError, "write failed",
			[]slog.Attr{slog.String("key", "users/u-17.json"), slog.String("api_key", "k-123")}},
		{ctx, h, slog.LevelDebug, "details", []slog.Attr{slog.Group("g", slog.String("level", "kept"))}},
	}
	for _, rec := range records {
		r := slog.NewRecord(logRecordTime, rec.level, rec.msg, 0)
		r.AddAttrs(rec.attrs...)
		if err := rec.h.Handle(rec.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// checkGolden compares got with testdata/<name>, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateLogs {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("log output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestLogHandlerGolden(t *testing.T) {
	var buf bytes.Buffer
	writeGoldenRecords(t, NewLogHandler(&buf, slog.LevelDebug))
	checkGolden(t, "log.golden.jsonl", buf.Bytes())
}

func TestLogHandlerLevels(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "TRACE"}, {slog.LevelDebug, "DEBUG"}, {slog.LevelInfo, "INFO"},
		{slog.LevelWarn, "WARN"}, {slog.LevelError, "ERROR"}, {slog.LevelError + 4, "FATAL"},
	}
	for _, tt := range tests {
		if got := lambdaLevel(tt.level); got != tt.want {
			t.Errorf("lambdaLevel(%v) = %s, want %s", tt.level, got, tt.want)
		}
	}
	var buf bytes.Buffer
	slog.New(NewLogHandler(&buf, slog.LevelWarn)).Info("dropped")
	if buf.Len() != 0 {
		t.Errorf("an info record at level warn was written: %s", buf.String())
	}
}

// slogLogHandler is NewLogHandler as it was built on slog.JSONHandler, the
// reference that the jsonlog-based handler must match byte for byte.
func slogLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	j := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: telemetry.ChainReplaceAttr(lambdaAttr, telemetry.RedactAttr),
	})
	return telemetry.NewStampHandler(j, stampInvocation)
}

// stampInvocation is appendInvocation as attributes, for the reference.
func stampInvocation(ctx context.Context, attrs []slog.Attr) []slog.Attr {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		return attrs
	}
	attrs = append(attrs, slog.String("requestId", inv.ID))
	if !inv.Trace.IsZero() {
		attrs = append(attrs, slog.String("traceId", inv.Trace.TraceID))
	}
	return attrs
}

// checkMatchesSlog runs the script data through NewLogHandler and the
// slog.JSONHandler-based reference, with and without an invocation.
func checkMatchesSlog(t *testing.T, data []byte) {
	t.Helper()
	for _, ctx := range []context.Context{context.Background(), logInvocation(t)} {
		var want, got bytes.Buffer
		jsonlogtest.Same(t, ctx, data, slogLogHandler(&want, slog.Level(-100)), &want, NewLogHandler(&got, slog.Level(-100)), &got)
	}
}

func TestLogHandlerMatchesSlog(t *testing.T) {
	for _, data := range jsonlogtest.Scripts(3, 2000) {
		checkMatchesSlog(t, data)
	}
}

func FuzzLogHandlerMatchesSlog(f *testing.F) {
	jsonlogtest.AddSeeds(f)
	f.Fuzz(checkMatchesSlog)
}

func TestAppendLambdaTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	times := []time.Time{
		{}, logRecordTime, time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 30, 0, 5_000_000, time.FixedZone("", 3600)),
	}
	for range 10000 {
		times = append(times, time.Unix(rng.Int64N(300_000_000_000)-62_000_000_000, rng.Int64N(1e9)).In(time.FixedZone("", int(rng.IntN(50_000))-25_000)))
	}
	for _, at := range times {
		want := `"` + at.UTC().Format(lambdaTimeLayout) + `"`
		if got := string(appendLambdaTime(nil, at)); got != want {
			t.Fatalf("appendLambdaTime(%v) = %s, want %s", at, got, want)
		}
	}
}

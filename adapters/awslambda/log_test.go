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
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

var updateLogs = flag.Bool("update", false, "rewrite the golden files in testdata")

// logRecordTime is the fixed time of the golden records.
var logRecordTime = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.FixedZone("CET", 3600))

// logMetadata is the invocation of the golden records and of the
// benchmarks.
func logMetadata() core.Invocation {
	trace, _ := core.ParseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	return core.Invocation{ID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", Cloud: core.CloudAWS, Function: "users", Trace: trace}
}

// logInvocation is the invocation of the golden records, with the room
// for its log handlers the adapter gives it.
func logInvocation(t *testing.T) context.Context {
	md := logMetadata()
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(t.Context()), &md)
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

// awsFields are the members logInvocation gives each line.
const awsFields = `"requestId":"8476a536-e9f4-11e8-9739-2dfe598c3fcd","traceId":"1-5759e988-bd862e3fe1be46a994272793"`

// checkLogShape runs the script data through NewLogHandler, with and
// without an invocation, and through the slog.JSONHandler it is made of:
// each line must be the JSON handler's with the invocation's fields after
// the message, whatever attributes and groups the script opened.
func checkLogShape(t *testing.T, data []byte) {
	t.Helper()
	telemetrytest.CheckLogShape(t, data, telemetrytest.LogShape{MessageKey: "message", Required: []string{"level"}},
		[]telemetrytest.LogContext{{Ctx: context.Background()}, {Ctx: logInvocation(t), Fields: awsFields}},
		func(w io.Writer) slog.Handler { return newJSONHandler(w, slog.Level(-100)) },
		func(w io.Writer) slog.Handler { return NewLogHandler(w, slog.Level(-100)) })
}

func TestLogHandlerShape(t *testing.T) { telemetrytest.CheckLogScripts(t, 3, 2000, checkLogShape) }

func FuzzLogHandlerShape(f *testing.F) { telemetrytest.FuzzLogScripts(f, checkLogShape) }

// TestLogHandlerSlogtest: the handler keeps slog's contract, inside an
// invocation and outside.
func TestLogHandlerSlogtest(t *testing.T) {
	keys := map[string]string{"timestamp": slog.TimeKey, "message": slog.MessageKey}
	for name, ctx := range map[string]context.Context{"outside": context.Background(), "invocation": logInvocation(t)} {
		t.Run(name, func(t *testing.T) {
			telemetrytest.TestLogHandler(t, ctx, func(w io.Writer) slog.Handler { return NewLogHandler(w, slog.LevelDebug) }, keys, "requestId", "traceId")
		})
	}
}

// TestLogHandlerTimestamp: Lambda's timestamp is in UTC with three digits
// of milliseconds, whatever the record's zone and precision.
func TestLogHandlerTimestamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	times := []time.Time{
		logRecordTime, time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 1, 1, 0, 30, 0, 5_000_000, time.FixedZone("", 3600)), time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC),
	}
	for range 100 {
		times = append(times, time.Unix(rng.Int64N(250_000_000_000)-62_000_000_000, rng.Int64N(1e9)).In(time.FixedZone("", int(rng.IntN(50_000))-25_000)))
	}
	for _, at := range times {
		var buf bytes.Buffer
		_ = NewLogHandler(&buf, slog.LevelInfo).Handle(t.Context(), slog.NewRecord(at, slog.LevelInfo, "m", 0))
		want := `{"timestamp":"` + at.UTC().Format(lambdaTimeLayout) + `",`
		if got := buf.String(); !strings.HasPrefix(got, want) {
			t.Fatalf("%v: got %s, want it to start with %s", at, got, want)
		}
	}
}

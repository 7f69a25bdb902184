package gcpfunctions

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// TestLogHandlerGolden logs fixed records through the Cloud Logging handler:
// outside an invocation, in an HTTP invocation with a traceparent, in an
// event invocation with an X-Cloud-Trace-Context (a decimal span id), with
// secrets, and from a handler opened with attributes and a group.
func TestLogHandlerGolden(t *testing.T) {
	var buf bytes.Buffer
	h := newLogHandler(&buf, slog.LevelDebug, "my-project")
	at := time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

	req := httptest.NewRequest("POST", "http://users-abc.a.run.app/users?api_key=k-1&page=2", nil)
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Authorization", "Bearer eyJhbGciOi")
	httpCtx, eventCtx := logInvocations(t, req)

	records := []struct {
		ctx   context.Context
		h     slog.Handler
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{context.Background(), h, slog.LevelInfo, "started", nil},
		{httpCtx, h, slog.LevelInfo, "user created", []slog.Attr{slog.String("user_id", "u-17")}},
		{httpCtx, h, slog.LevelWarn, "headers", []slog.Attr{slog.Any("headers", req.Header)}},
		{eventCtx, h.WithAttrs([]slog.Attr{slog.String("component", "store")}).WithGroup("op"), slog.LevelError,
			"write failed", []slog.Attr{slog.String("token", "t-1")}},
		{eventCtx, h, slog.LevelError + 4, "gave up", nil},
	}
	for _, rec := range records {
		r := slog.NewRecord(at, rec.level, rec.msg, 0)
		r.AddAttrs(rec.attrs...)
		if err := rec.h.Handle(rec.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join("testdata", "log.golden.jsonl")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("log output differs from %s:\ngot:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}

func TestLogHandlerWithoutProject(t *testing.T) {
	var buf bytes.Buffer
	inv := &core.Invocation{ID: "e", Cloud: core.CloudGCP, Function: "f"}
	inv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	ctx, cancel := core.WithInvocation(t.Context(), inv)
	defer cancel()
	slog.New(newLogHandler(&buf, slog.LevelInfo, "")).InfoContext(ctx, "m")
	want := `"logging.googleapis.com/trace":"4bf92f3577b34da6a3ce929d0e0e4736","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":false`
	if !bytes.Contains(buf.Bytes(), []byte(want)) {
		t.Errorf("got %s, want it to contain %s", buf.Bytes(), want)
	}
	if got := projectID(func(k string) string { return map[string]string{"GCP_PROJECT": "p2"}[k] }); got != "p2" {
		t.Errorf("projectID = %q, want p2", got)
	}
}

// The members logInvocations' contexts give each line, with the project
// "my-project" and the request of checkLogShape.
const (
	gcpHTTPFields = `"logging.googleapis.com/trace":"projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":true,` +
		`"logging.googleapis.com/labels":{"execution_id":"exec-1","function":"users"},` +
		`"httpRequest":{"requestMethod":"POST","requestUrl":"http://users-abc.a.run.app/users?api_key=%5BREDACTED%5D&page=2","userAgent":"curl/8.5.0 \"quoted\" \ufffd","remoteIp":"203.0.113.7","referer":"https://example.com/<a>&b","protocol":"HTTP/1.1"}`
	gcpEventFields = `"logging.googleapis.com/trace":"projects/my-project/traces/105445aa7843bc8bf206b12000100000","logging.googleapis.com/spanId":"0000000000000001","logging.googleapis.com/trace_sampled":false,` +
		`"logging.googleapis.com/labels":{"execution_id":"1234567890","function":"on-order"}`
)

// checkLogShape runs the script data through newLogHandler and through the
// slog.JSONHandler it is made of: outside an invocation, in an HTTP one with
// a traceparent and a query with a secret, and in an event one. Each line
// must be the JSON handler's with the invocation's fields after the message,
// whatever attributes and groups the script opened.
func checkLogShape(t *testing.T, data []byte) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://users-abc.a.run.app/users?api_key=k-1&page=2", nil)
	req.Header.Set("User-Agent", "curl/8.5.0 \"quoted\" \xff")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	req.Header.Set("Referer", "https://example.com/<a>&b")
	httpCtx, eventCtx := logInvocations(t, req)

	telemetrytest.CheckLogShape(t, data, telemetrytest.LogShape{MessageKey: "message", Required: []string{"severity"}},
		[]telemetrytest.LogContext{{Ctx: context.Background()}, {Ctx: httpCtx, Fields: gcpHTTPFields}, {Ctx: eventCtx, Fields: gcpEventFields}},
		func(w io.Writer) slog.Handler { return newJSONHandler(w, slog.Level(-100)) },
		func(w io.Writer) slog.Handler { return newLogHandler(w, slog.Level(-100), "my-project") })
}

func TestLogHandlerShape(t *testing.T) { telemetrytest.CheckLogScripts(t, 5, 1000, checkLogShape) }

func FuzzLogHandlerShape(f *testing.F) { telemetrytest.FuzzLogScripts(f, checkLogShape) }

// TestLogHandlerSlogtest: the handler keeps slog's contract, inside an
// invocation and outside.
func TestLogHandlerSlogtest(t *testing.T) {
	httpCtx, eventCtx := logInvocations(t, httptest.NewRequest("GET", "http://h/", nil))
	keys := map[string]string{"severity": slog.LevelKey, "message": slog.MessageKey}
	for name, ctx := range map[string]context.Context{"outside": context.Background(), "http": httpCtx, "event": eventCtx} {
		t.Run(name, func(t *testing.T) {
			telemetrytest.TestLogHandler(t, ctx, func(w io.Writer) slog.Handler { return newLogHandler(w, slog.LevelDebug, "p") }, keys,
				traceField, spanField, sampledField, labelsField, "httpRequest")
		})
	}
}

// logInvocations returns the contexts of two invocations, ended when the
// test ends: an HTTP function's serving req with a traceparent, and an
// event function's with an X-Cloud-Trace-Context.
func logInvocations(t *testing.T, req *http.Request) (httpCtx, eventCtx context.Context) {
	t.Helper()
	httpInv := &core.Invocation{ID: "exec-1", Cloud: core.CloudGCP, Function: "users"}
	httpInv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	httpCtx, cancel := core.WithInvocation(telemetry.WithInvocationLog(withRequest(t.Context(), req)), httpInv)
	t.Cleanup(cancel)
	eventInv := &core.Invocation{ID: "1234567890", Cloud: core.CloudGCP, Function: "on-order"}
	eventInv.Trace, _ = parseCloudTraceContext("105445aa7843bc8bf206b12000100000/1;o=0")
	eventCtx, cancel2 := core.WithInvocation(telemetry.WithInvocationLog(t.Context()), eventInv)
	t.Cleanup(cancel2)
	return httpCtx, eventCtx
}

package gcpfunctions

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
	"github.com/polyfn/polyfn/telemetry/jsonlog/jsonlogtest"
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

// slogLogHandler is newLogHandler as it was built on slog.JSONHandler, the
// reference that the jsonlog-based handler must match byte for byte.
func slogLogHandler(w io.Writer, level slog.Leveler, project string) slog.Handler {
	j := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: telemetry.ChainReplaceAttr(cloudLoggingAttr, telemetry.RedactAttr),
	})
	return telemetry.NewStampHandler(j, func(ctx context.Context, attrs []slog.Attr) []slog.Attr {
		return stampInvocation(ctx, project, attrs)
	})
}

// checkMatchesSlog runs the script data through newLogHandler and the
// slog.JSONHandler-based reference: outside an invocation, in an HTTP one
// with a traceparent and a query with a secret, and in an event one.
func checkMatchesSlog(t *testing.T, data []byte) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://users-abc.a.run.app/users?api_key=k-1&page=2", nil)
	req.Header.Set("User-Agent", "curl/8.5.0 \"quoted\" \xff")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	req.Header.Set("Referer", "https://example.com/<a>&b")
	httpCtx, eventCtx := logInvocations(t, req)

	for _, ctx := range []context.Context{context.Background(), httpCtx, eventCtx} {
		for _, project := range []string{"", "my-project"} {
			var want, got bytes.Buffer
			jsonlogtest.Same(t, ctx, data, slogLogHandler(&want, slog.Level(-100), project), &want, newLogHandler(&got, slog.Level(-100), project), &got)
		}
	}
}

func TestLogHandlerMatchesSlog(t *testing.T) {
	for _, data := range jsonlogtest.Scripts(5, 1000) {
		checkMatchesSlog(t, data)
	}
}

func FuzzLogHandlerMatchesSlog(f *testing.F) {
	jsonlogtest.AddSeeds(f)
	f.Fuzz(checkMatchesSlog)
}

// logInvocations returns the contexts of two invocations, ended when the
// test ends: an HTTP function's serving req with a traceparent, and an
// event function's with an X-Cloud-Trace-Context.
func logInvocations(t *testing.T, req *http.Request) (httpCtx, eventCtx context.Context) {
	t.Helper()
	httpInv := &core.Invocation{ID: "exec-1", Cloud: core.CloudGCP, Function: "users"}
	httpInv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	httpCtx, cancel := core.WithInvocation(withRequest(t.Context(), req), httpInv)
	t.Cleanup(cancel)
	eventInv := &core.Invocation{ID: "1234567890", Cloud: core.CloudGCP, Function: "on-order"}
	eventInv.Trace, _ = parseCloudTraceContext("105445aa7843bc8bf206b12000100000/1;o=0")
	eventCtx, cancel2 := core.WithInvocation(t.Context(), eventInv)
	t.Cleanup(cancel2)
	return httpCtx, eventCtx
}

// stampInvocation is appendInvocation as attributes, as the handler once
// added them, for the reference.
func stampInvocation(ctx context.Context, project string, attrs []slog.Attr) []slog.Attr {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		return attrs
	}
	if t := telemetry.LogTrace(ctx, inv); !t.IsZero() && t.Format != core.TraceXRay {
		trace := t.TraceID
		if project != "" {
			trace = "projects/" + project + "/traces/" + t.TraceID
		}
		attrs = append(attrs, slog.String(traceField, trace))
		if span := spanHex(t); span != "" {
			attrs = append(attrs, slog.String(spanField, span))
		}
		attrs = append(attrs, slog.Bool(sampledField, t.Sampled))
	}
	// A group rather than a map: slog writes it without reflection, in the
	// order of encoding/json's sorted map keys, and redacts its values alike.
	attrs = append(attrs, slog.Attr{Key: labelsField, Value: slog.GroupValue(
		slog.String("execution_id", inv.ID), slog.String("function", inv.Function))})
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
		attrs = append(attrs, slog.Attr{Key: "httpRequest", Value: httpRequestOf(r)})
	}
	return attrs
}

// httpRequestOf is appendHTTPRequest as a group, for the reference.
func httpRequestOf(r *http.Request) slog.Value {
	scheme := "http"
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	} else if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: redactQuery(r.URL.RawQuery)}
	remote, _, _ := strings.Cut(r.Header.Get("X-Forwarded-For"), ",")
	remote = strings.TrimSpace(remote)
	if remote == "" {
		remote, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	attrs := make([]slog.Attr, 2, 6)
	attrs[0], attrs[1] = slog.String("requestMethod", r.Method), slog.String("requestUrl", u.String())
	for _, a := range [...]slog.Attr{
		slog.String("userAgent", r.UserAgent()), slog.String("remoteIp", remote),
		slog.String("referer", r.Referer()), slog.String("protocol", r.Proto),
	} {
		if a.Value.String() != "" {
			attrs = append(attrs, a)
		}
	}
	return slog.GroupValue(attrs...)
}

// TestAppendRequestURL checks the requestUrl written in place against
// url.URL.String, for hosts, paths and queries that need escaping and
// that do not.
func TestAppendRequestURL(t *testing.T) {
	hosts := []string{"users-abc.a.run.app", "h:8080", "[::1]:80", "", "héllo.example", "a b", "x%y", "q\"h", "tab\th"}
	targets := []string{"/", "/users/u-17", "/a%2Fb/c", "/é/ü?x=1", "/sp%20ace?q=a%20b", "/x?api_key=k&page=2", "/x?%zz", "*", "/\u2028"}
	for _, scheme := range []string{"http", "https", "we\"ird\u2029"} {
		for _, host := range hosts {
			for _, target := range targets {
				r := httptest.NewRequest("GET", "http://example.com"+strings.TrimPrefix(target, "*"), nil)
				if target == "*" {
					r.URL.Path = "*"
				}
				r.Host = host
				u := url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: redactQuery(r.URL.RawQuery)}
				want := string(jsonlog.AppendString(nil, u.String()))
				if got := string(appendRequestURL(nil, scheme, r)); got != want {
					t.Errorf("scheme %q, host %q, target %q: got %s, want %s", scheme, host, target, got, want)
				}
			}
		}
	}
	// A path without its leading slash, as a hand-made request may have.
	r := httptest.NewRequest("GET", "http://h/x", nil)
	r.URL.Path = "rel/p"
	if got, want := string(appendRequestURL(nil, "http", r)), `"http://h/rel/p"`; got != want {
		t.Errorf("relative path: got %s, want %s", got, want)
	}
}

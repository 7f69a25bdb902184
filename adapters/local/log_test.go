package local

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// logInvocation is an invocation as the runtime makes it, with a trace.
func logInvocation(t *testing.T) context.Context {
	inv := &core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"}
	inv.Trace, _ = core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(t.Context()), inv)
	t.Cleanup(cancel)
	return ctx
}

// checkLogShape runs the script data through the JSON form of
// NewLogHandler and through the slog.JSONHandler it is made of: each line
// must be the JSON handler's with the invocation's fields after the
// message, whatever attributes and groups the script opened.
func checkLogShape(t *testing.T, data []byte) {
	t.Helper()
	telemetrytest.CheckLogShape(t, data, telemetrytest.LogShape{MessageKey: "msg", Required: []string{"level"}},
		[]telemetrytest.LogContext{
			{Ctx: context.Background()},
			{Ctx: logInvocation(t), Fields: `"invocation_id":"inv-1","function":"users","trace_id":"0af7651916cd43dd8448eb211c80319c"`},
		},
		func(w io.Writer) slog.Handler { return newBaseHandler(w, "json", slog.Level(-100)) },
		func(w io.Writer) slog.Handler { return NewLogHandler(w, " JSON ", slog.Level(-100)) })
}

func TestLogHandlerShape(t *testing.T) { telemetrytest.CheckLogScripts(t, 9, 2000, checkLogShape) }

func FuzzLogHandlerShape(f *testing.F) { telemetrytest.FuzzLogScripts(f, checkLogShape) }

// TestLogHandlerSlogtest: the JSON form keeps slog's contract, inside an
// invocation and outside.
func TestLogHandlerSlogtest(t *testing.T) {
	for name, ctx := range map[string]context.Context{"outside": context.Background(), "invocation": logInvocation(t)} {
		t.Run(name, func(t *testing.T) {
			telemetrytest.TestLogHandler(t, ctx, func(w io.Writer) slog.Handler { return NewLogHandler(w, "json", slog.LevelDebug) }, nil,
				"invocation_id", "function", "trace_id")
		})
	}
}

func TestLogHandlerText(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(t.Context()), &core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"})
	defer cancel()
	log := slog.New(NewLogHandler(&buf, "text", slog.LevelInfo))
	log.InfoContext(ctx, "m", "password", "p")
	log.With("a", 1).WithGroup("g").InfoContext(ctx, "m2", "b", 2)
	for _, want := range []string{
		"msg=m invocation_id=inv-1 function=users password=" + telemetry.Redacted,
		"msg=m2 invocation_id=inv-1 function=users a=1 g.b=2",
	} {
		if got := buf.String(); !strings.Contains(got, want) {
			t.Errorf("got %q, want text containing %q: the invocation after the message, the password redacted", got, want)
		}
	}
}

package azurefunctions

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

// azureFields are the members logInvocation gives each line.
const azureFields = `"invocation_id":"a3ad4a1c-2a5a-4e07-9d6b-2c3d6f0f0c4e","function":"on-order","trace_id":"0af7651916cd43dd8448eb211c80319c"`

// logMetadata is the invocation of logInvocation and of the benchmarks.
func logMetadata() core.Invocation {
	trace, _ := core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	return core.Invocation{ID: "a3ad4a1c-2a5a-4e07-9d6b-2c3d6f0f0c4e", Cloud: core.CloudAzure, Function: "on-order", Trace: trace}
}

// logInvocation is a default-mode invocation as the handler makes it, its
// Logs kept in logs.
func logInvocation(t *testing.T, logs *logBuffer) context.Context {
	md := logMetadata()
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(withLogs(t.Context(), logs)), &md)
	t.Cleanup(cancel)
	return ctx
}

// checkLogShape runs the script data through the azure build's handler and
// through slog.JSONHandlers with its options, one for stdout and one for
// stderr: each line on stdout and stderr must be the JSON handler's with
// the invocation's fields after the message, whatever attributes and
// groups the script opened, and the Logs of a default-mode invocation must
// be the same lines, in order.
func checkLogShape(t *testing.T, data []byte) {
	t.Helper()
	for _, kept := range []bool{false, true} {
		logs := &logBuffer{}
		ctx, fields := context.Background(), ""
		if kept {
			ctx, fields = logInvocation(t, logs), azureFields
		}
		var wantOut, wantErr, gotOut, gotErr, all bytes.Buffer
		opts := &slog.HandlerOptions{Level: slog.Level(-100), ReplaceAttr: telemetry.RedactAttr}
		ref := byLevel{low: slog.NewJSONHandler(io.MultiWriter(&wantOut, &all), opts), high: slog.NewJSONHandler(io.MultiWriter(&wantErr, &all), opts)}
		shape := telemetrytest.LogShape{MessageKey: "msg", Fields: fields, Required: []string{"level"}}
		telemetrytest.CheckLogScript(t, ctx, data, shape, ref, NewLogHandler(&gotOut, &gotErr, slog.Level(-100)),
			telemetrytest.LogOutput{Want: &wantOut, Got: &gotOut}, telemetrytest.LogOutput{Want: &wantErr, Got: &gotErr})
		if kept {
			got := strings.Join(logs.close(), "\n")
			if all.Len() > 0 {
				got += "\n"
			}
			telemetrytest.CheckLogLines(t, data, shape, all.String(), got)
		}
	}
}

func TestLogHandlerShape(t *testing.T) { telemetrytest.CheckLogScripts(t, 7, 2000, checkLogShape) }

func FuzzLogHandlerShape(f *testing.F) { telemetrytest.FuzzLogScripts(f, checkLogShape) }

// TestLogHandlerSlogtest: the handler keeps slog's contract, outside an
// invocation and inside a default-mode one (whose Logs are the same lines,
// as checkLogShape shows).
func TestLogHandlerSlogtest(t *testing.T) {
	newHandler := func(w io.Writer) slog.Handler { return NewLogHandler(w, w, slog.LevelDebug) }
	t.Run("outside", func(t *testing.T) {
		telemetrytest.TestLogHandler(t, context.Background(), newHandler, nil)
	})
	t.Run("invocation", func(t *testing.T) {
		telemetrytest.TestLogHandler(t, logInvocation(t, &logBuffer{}), newHandler, nil, "invocation_id", "function", "trace_id")
	})
}

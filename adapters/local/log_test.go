package local

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog/jsonlogtest"
)

// checkMatchesSlog runs the script data through the JSON form of
// NewLogHandler and through the stamp over slog.JSONHandler with
// RedactAttr, as it was: same bytes.
func checkMatchesSlog(t *testing.T, data []byte) {
	t.Helper()
	inv := &core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"}
	inv.Trace, _ = core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	invCtx, cancel := core.WithInvocation(t.Context(), inv)
	defer cancel()
	for _, ctx := range []context.Context{context.Background(), invCtx} {
		var want, got bytes.Buffer
		ref := telemetry.NewStampHandler(slog.NewJSONHandler(&want, &slog.HandlerOptions{
			Level: slog.Level(-100), ReplaceAttr: telemetry.RedactAttr,
		}), telemetry.StampInvocation)
		h := NewLogHandler(&got, " JSON ", slog.Level(-100))
		jsonlogtest.Same(t, ctx, data, ref, &want, h, &got)
	}
}

func TestLogHandlerMatchesSlog(t *testing.T) {
	for _, data := range jsonlogtest.Scripts(9, 2000) {
		checkMatchesSlog(t, data)
	}
}

func FuzzLogHandlerMatchesSlog(f *testing.F) {
	jsonlogtest.AddSeeds(f)
	f.Fuzz(checkMatchesSlog)
}

func TestLogHandlerText(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := core.WithInvocation(t.Context(), &core.Invocation{ID: "inv-1", Cloud: core.CloudLocal, Function: "users"})
	defer cancel()
	slog.New(NewLogHandler(&buf, "text", slog.LevelInfo)).InfoContext(ctx, "m", "password", "p")
	if got := buf.String(); !strings.Contains(got, "msg=m invocation_id=inv-1 function=users password="+telemetry.Redacted) {
		t.Errorf("got %q, want text with the invocation after the message and the password redacted", got)
	}
}

package local

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/core/telemetry"
	"github.com/polyfn/polyfn/core/telemetry/jsonlog/jsonlogtest"
)

// checkMatchesSlog runs the script data through the JSON form of
// NewLogHandler under the stamp, as cmd/launch installs it, and through the
// stamp over slog.JSONHandler with RedactAttr, as it was: same bytes.
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
		h := telemetry.NewStampHandler(NewLogHandler(&got, " JSON ", slog.Level(-100)), telemetry.StampInvocation)
		wantPanics := jsonlogtest.Run(ctx, ref, data)
		gotPanics := jsonlogtest.Run(ctx, h, data)
		if diff := cmp.Diff(strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")); diff != "" {
			t.Fatalf("script %q: output differs from slog.JSONHandler's (-want +got):\n%s", data, diff)
		}
		if diff := cmp.Diff(wantPanics, gotPanics); diff != "" {
			t.Fatalf("script %q: panics differ (-want +got):\n%s", data, diff)
		}
	}
}

func TestLogHandlerMatchesSlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		data := make([]byte, rng.IntN(200))
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		checkMatchesSlog(t, data)
	}
}

func FuzzLogHandlerMatchesSlog(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x02\x01\x00\x03\x04\x00\x17\x02\x01\x05\x00\x18\x02\x03\x00\x0e"))
	f.Add([]byte("\x00\x02\x18\x01\x03\x00\x00\x01\x19\x02\x02\x03\x03\x01\x04\x01\x04"))
	f.Fuzz(checkMatchesSlog)
}

func TestLogHandlerText(t *testing.T) {
	var buf bytes.Buffer
	slog.New(NewLogHandler(&buf, "text", slog.LevelInfo)).Info("m", "password", "p")
	if got := buf.String(); !strings.Contains(got, "msg=m password="+telemetry.Redacted) {
		t.Errorf("got %q, want text with the password redacted", got)
	}
}

package azurefunctions

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

var updateLogs = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestLogHandlerGolden logs fixed records as the azure build does
// (cmd/launch): to stdout, and into the Logs of a default-mode invocation's
// reply, each stamped with the invocation id and trace, secrets redacted.
func TestLogHandlerGolden(t *testing.T) {
	var stdout, stderr bytes.Buffer
	h := NewLogHandler(&stdout, &stderr, slog.LevelDebug)
	inv := &core.Invocation{ID: "a3ad4a1c-2a5a-4e07-9d6b-2c3d6f0f0c4e", Cloud: core.CloudAzure, Function: "on-order"}
	inv.Trace, _ = core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	logs := &logBuffer{}
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(withLogs(t.Context(), logs)), inv)
	defer cancel()
	at := time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	records := []struct {
		ctx   context.Context
		h     slog.Handler
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{context.Background(), h, slog.LevelInfo, "started", nil},
		{ctx, h, slog.LevelInfo, "order recorded", []slog.Attr{slog.String("order_id", "o-1")}},
		{ctx, h.WithAttrs([]slog.Attr{slog.String("component", "store")}).WithGroup("op"), slog.LevelError,
			"write failed", []slog.Attr{slog.String("connection_string_secret", "AccountKey=abc")}},
	}
	for _, rec := range records {
		r := slog.NewRecord(at, rec.level, rec.msg, 0)
		r.AddAttrs(rec.attrs...)
		if err := rec.h.Handle(rec.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := "# stdout\n" + stdout.String() + "# stderr\n" + stderr.String() + "# Logs\n" + strings.Join(logs.close(), "\n") + "\n"
	path := filepath.Join("testdata", "logs.golden.txt")
	if *updateLogs {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("log output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

package azurefunctions

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog/jsonlogtest"
)

// checkMatchesSlog runs the script data through the azure build's handler
// (LogHandler over JSONHandler) and through the stamp over two
// slog.JSONHandlers with RedactAttr split by level, as the build wrote
// before jsonlog: stdout, stderr and the invocation's Logs lines must be
// the reference's, and LogHandler over another handler (one stamped by
// telemetry.StampHandler) must keep the same Logs lines as it writes.
func checkMatchesSlog(t *testing.T, data []byte) {
	t.Helper()
	inv := &core.Invocation{ID: "a3ad4a1c-2a5a-4e07-9d6b-2c3d6f0f0c4e", Cloud: core.CloudAzure, Function: "on-order"}
	inv.Trace, _ = core.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	for _, kept := range []bool{false, true} {
		logs, otherLogs, refLogs := &logBuffer{}, &logBuffer{}, &logBuffer{}
		ctx, otherCtx, refCtx := context.Background(), context.Background(), context.Background()
		if kept {
			var cancel context.CancelFunc
			ctx, cancel = core.WithInvocation(withLogs(t.Context(), logs), inv)
			defer cancel()
			otherCtx, cancel = core.WithInvocation(withLogs(t.Context(), otherLogs), inv)
			defer cancel()
			refCtx, cancel = core.WithInvocation(withLogs(t.Context(), refLogs), inv)
			defer cancel()
		}
		var wantOut, wantErr, gotOut, gotErr, other bytes.Buffer
		opts := &slog.HandlerOptions{Level: slog.Level(-100), ReplaceAttr: telemetry.RedactAttr}
		ref := telemetry.NewStampHandler(levelSplit{
			low:  slog.NewJSONHandler(&wantOut, opts),
			high: slog.NewJSONHandler(&wantErr, opts),
		}, telemetry.StampInvocation)
		h := NewLogHandler(NewJSONHandler(&gotOut, &gotErr, slog.Level(-100)))
		oh := NewLogHandler(telemetry.NewStampHandler(slog.NewJSONHandler(&other, opts), telemetry.StampInvocation))
		wantPanics := jsonlogtest.Run(refCtx, ref, data)
		gotPanics := jsonlogtest.Run(ctx, h, data)
		otherPanics := jsonlogtest.Run(otherCtx, oh, data)
		if diff := cmp.Diff(strings.Split(wantOut.String(), "\n"), strings.Split(gotOut.String(), "\n")); diff != "" {
			t.Fatalf("script %q: stdout differs from slog.JSONHandler's (-want +got):\n%s", data, diff)
		}
		if diff := cmp.Diff(strings.Split(wantErr.String(), "\n"), strings.Split(gotErr.String(), "\n")); diff != "" {
			t.Fatalf("script %q: stderr differs from slog.JSONHandler's (-want +got):\n%s", data, diff)
		}
		if diff := cmp.Diff(wantPanics, gotPanics); diff != "" {
			t.Fatalf("script %q: panics differ (-want +got):\n%s", data, diff)
		}
		if diff := cmp.Diff(wantPanics, otherPanics); diff != "" {
			t.Fatalf("script %q: panics over slog.JSONHandler differ (-want +got):\n%s", data, diff)
		}
		if kept {
			// Every line was kept, in order: stdout and stderr interleaved.
			all := strings.Split(strings.TrimSuffix(other.String(), "\n"), "\n")
			if other.Len() == 0 {
				all = []string{}
			}
			if diff := cmp.Diff(all, logs.close()); diff != "" {
				t.Fatalf("script %q: Logs differ from slog.JSONHandler's lines (-want +got):\n%s", data, diff)
			}
			if diff := cmp.Diff(all, otherLogs.close()); diff != "" {
				t.Fatalf("script %q: Logs over slog.JSONHandler differ from its lines (-want +got):\n%s", data, diff)
			}
		}
	}
}

// levelSplit is cmd/launch's former split of the azure build's output.
type levelSplit struct{ low, high slog.Handler }

func (s levelSplit) pick(l slog.Level) slog.Handler {
	if l >= slog.LevelWarn {
		return s.high
	}
	return s.low
}

func (s levelSplit) Enabled(ctx context.Context, l slog.Level) bool {
	return s.pick(l).Enabled(ctx, l)
}

func (s levelSplit) Handle(ctx context.Context, r slog.Record) error {
	return s.pick(r.Level).Handle(ctx, r)
}

func (s levelSplit) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelSplit{low: s.low.WithAttrs(attrs), high: s.high.WithAttrs(attrs)}
}

func (s levelSplit) WithGroup(name string) slog.Handler {
	return levelSplit{low: s.low.WithGroup(name), high: s.high.WithGroup(name)}
}

func TestLogHandlerMatchesSlog(t *testing.T) {
	for _, data := range jsonlogtest.Scripts(7, 2000) {
		checkMatchesSlog(t, data)
	}
}

func FuzzLogHandlerMatchesSlog(f *testing.F) {
	jsonlogtest.AddSeeds(f)
	f.Fuzz(checkMatchesSlog)
}

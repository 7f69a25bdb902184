package azurefunctions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestLogHandlerKeepsInvocationLines(t *testing.T) {
	var stdout bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&stdout, &slog.HandlerOptions{Level: slog.LevelInfo})))
	buf := &logBuffer{}
	ctx := withLogs(context.Background(), buf)

	scoped := log.With(slog.String("app", "users")).WithGroup("req")
	scoped.InfoContext(ctx, "kept", slog.Int("n", 1))
	log.DebugContext(ctx, "below the level")
	log.Info("no invocation in the context")
	log.WarnContext(ctx, "kept too")

	lines := buf.close()
	if len(lines) != 2 {
		t.Fatalf("kept %d lines, want 2: %q", len(lines), lines)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["msg"] != "kept" || first["app"] != "users" || first["req"].(map[string]any)["n"] != 1.0 {
		t.Errorf("first line %s lacks the handler's attributes and group", lines[0])
	}
	if got := strings.Count(stdout.String(), "\n"); got != 3 {
		t.Errorf("stdout has %d lines, want 3 (everything at or above the level):\n%s", got, stdout.String())
	}
	log.InfoContext(ctx, "after the reply")
	if n := len(buf.close()); n != 2 {
		t.Errorf("a line logged after the reply was kept: %d lines", n)
	}
}

func TestLogBufferBounds(t *testing.T) {
	buf := &logBuffer{}
	for i := range maxLogLines + 5 {
		buf.add(fmt.Sprint("line ", i))
	}
	lines := buf.close()
	if len(lines) != maxLogLines+1 || !strings.Contains(lines[maxLogLines], "5 more log lines") {
		t.Errorf("%d lines, last %q; want %d and a note of 5 dropped", len(lines), lines[len(lines)-1], maxLogLines+1)
	}
	buf = &logBuffer{}
	buf.add(strings.Repeat("x", maxLogBytes+1))
	if lines := buf.close(); len(lines) != 1 || !strings.Contains(lines[0], "1 more") {
		t.Errorf("an oversized line was kept: %d lines", len(lines))
	}
}

package azurefunctions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

func TestLogHandlerKeepsInvocationLines(t *testing.T) {
	var stdout, stderr bytes.Buffer
	log := slog.New(NewLogHandler(&stdout, &stderr, slog.LevelInfo))
	buf := &logBuffer{}
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(withLogs(t.Context(), buf)), &core.Invocation{ID: "i-1", Cloud: core.CloudAzure, Function: "f"})
	defer cancel()
	otherCtx, cancel2 := core.WithInvocation(t.Context(), &core.Invocation{ID: "i-2", Cloud: core.CloudAzure, Function: "f"})
	defer cancel2()

	scoped := log.With(slog.String("app", "users")).WithGroup("req")
	scoped.InfoContext(ctx, "kept", slog.Int("n", 1))
	log.DebugContext(ctx, "below the level")
	log.Info("no invocation in the context")
	log.InfoContext(otherCtx, "an invocation without Logs")
	log.WarnContext(ctx, "kept too")

	lines := buf.close()
	if len(lines) != 2 {
		t.Fatalf("kept %d lines, want 2: %q", len(lines), lines)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["msg"] != "kept" || first["app"] != "users" || first["req"].(map[string]any)["n"] != 1.0 || first["invocation_id"] != "i-1" {
		t.Errorf("first line %s lacks the invocation, the handler's attributes and group", lines[0])
	}
	if got := strings.Count(stdout.String(), "\n"); got != 3 {
		t.Errorf("stdout has %d lines, want 3 (everything at or above the level, below warn):\n%s", got, stdout.String())
	}
	if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, lines[1]+"\n") {
		t.Errorf("stderr has %q, want the warning, as kept: %s", got, lines[1])
	}
	log.InfoContext(ctx, "after the reply")
	if n := len(buf.close()); n != 2 {
		t.Errorf("a line logged after the reply was kept: %d lines", n)
	}

	// The adapter's own lines about the host's request, before the
	// invocation's context is made, are kept for its reply too.
	adapter := &logBuffer{}
	scoped.WarnContext(withLogs(t.Context(), adapter), "the adapter's", slog.Int("n", 2))
	if lines := adapter.close(); len(lines) != 1 || !strings.HasSuffix(stderr.String(), lines[0]+"\n") ||
		!strings.Contains(lines[0], `"app":"users","req":{"n":2}`) || strings.Contains(lines[0], "invocation_id") {
		t.Errorf("kept %q, want the adapter's line as on stderr:\n%s", lines, stderr.String())
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

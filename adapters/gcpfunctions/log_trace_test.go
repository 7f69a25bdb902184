package gcpfunctions

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// TestLogHandlerFilesRecordsUnderTheirSpan: with tracing on, a record logged
// while an event is handled names the event's span, so that Cloud Logging
// shows it under that span in Cloud Trace, in the trace the request came
// with.
func TestLogHandlerFilesRecordsUnderTheirSpan(t *testing.T) {
	telemetrytest.RecordSpans(t, nil)

	var buf bytes.Buffer
	log := slog.New(newLogHandler(&buf, slog.LevelInfo, "p"))
	inv := &core.Invocation{ID: "e", Cloud: core.CloudGCP, Function: "f"}
	inv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, cancel := core.WithInvocation(t.Context(), inv)
	e, err := core.NewEvent(core.TypeTimer, "t-1", "scheduler", &core.Timer{Name: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	var span trace.SpanContext
	err = core.Invoke(ctx, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		span = trace.SpanContextFromContext(ctx)
		log.InfoContext(ctx, "fired")
		return nil
	}), e)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	if line[traceField] != "projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736" || line[spanField] != span.SpanID().String() || line[sampledField] != true {
		t.Errorf("the record names trace %v span %v sampled %v; want the request's trace and the event's span %s",
			line[traceField], line[spanField], line[sampledField], span.SpanID())
	}
}

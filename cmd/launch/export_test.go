package launch

import (
	"context"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/telemetry/otlp" // registers the exporter under test
)

// TestTracingExportsOTLP starts the process's telemetry against an OTLP
// receiver: an invocation's span reaches it continuing the caller's trace,
// with the function's resource, when the process stops.
func TestTracingExportsOTLP(t *testing.T) {
	c := emulators.StartOTLPReceiver(t)
	t.Setenv(otlp.EnvEndpoint, c.URL)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	t.Setenv(MetricsEnv, "off")

	stop := startTelemetry([]*core.App{core.NewApp("orders")})
	inv := &core.Invocation{ID: "inv-1", Cloud: Target, Function: "orders"}
	inv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	_, cancel := core.WithInvocation(context.Background(), inv)
	cancel()
	stop()

	var found bool
	for _, sp := range c.Spans() {
		if got := emulators.AttrText(sp.Resource, "service.name"); got != "orders" {
			t.Errorf("service.name %q, want the app's name", got)
		}
		if got := emulators.AttrText(sp.Resource, "deployment.environment.name"); got != "test" {
			t.Errorf("OTEL_RESOURCE_ATTRIBUTES not applied: %q", got)
		}
		if sp.Name != "orders" {
			continue
		}
		found = true
		if sp.TraceID() != "4bf92f3577b34da6a3ce929d0e0e4736" || sp.ParentSpanID() != "00f067aa0ba902b7" {
			t.Errorf("span trace %s parent %s, want the caller's", sp.TraceID(), sp.ParentSpanID())
		}
		if got := sp.Attr("faas.invocation_id"); got != "inv-1" {
			t.Errorf("faas.invocation_id %q", got)
		}
	}
	if !found {
		t.Fatalf("the invocation's span did not reach the collector (%d spans)", len(c.Spans()))
	}
}

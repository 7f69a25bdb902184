package launch

import (
	"context"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/internal/emulators"
)

func TestOTLPConfigured(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		signal  string
		want    bool
		wantErr bool
	}{
		{"nothing set", nil, "traces", false, false},
		{"endpoint", map[string]string{envEndpoint: "http://127.0.0.1:4318"}, "traces", true, false},
		{"per-signal endpoint", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, "metrics", true, false},
		{"another signal's endpoint", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, "traces", false, false},
		{"exporter none", map[string]string{envEndpoint: "http://c:4318", envTracesExporter: "none"}, "traces", false, false},
		{"sdk disabled", map[string]string{envEndpoint: "http://c:4318", envSDKDisabled: "true"}, "metrics", false, false},
		{"http/protobuf", map[string]string{envEndpoint: "http://c:4318", envProtocol: "http/protobuf"}, "traces", true, false},
		{"grpc is not linked", map[string]string{envEndpoint: "http://c:4317", envProtocol: "grpc"}, "traces", false, true},
		{"per-signal protocol wins", map[string]string{envEndpoint: "http://c:4318", envProtocol: "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "traces", true, false},
		{"another exporter", map[string]string{envEndpoint: "http://c:4318", envMetricsExporter: "prometheus"}, "metrics", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := otlpConfigured(tt.signal, func(k string) string { return tt.env[k] })
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("otlpConfigured = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestTracingExportsOTLP starts the process's telemetry against an OTLP
// receiver: an invocation's span reaches it continuing the caller's trace,
// with the function's resource, when the process stops.
func TestTracingExportsOTLP(t *testing.T) {
	c := emulators.StartOTLPReceiver(t)
	t.Setenv(envEndpoint, c.URL)
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

// TestOTLPMetrics exports a function's own instrument over OTLP when the
// provider stops.
func TestOTLPMetrics(t *testing.T) {
	c := emulators.StartOTLPReceiver(t)
	t.Setenv(envEndpoint, c.URL)
	x, err := otlpMetrics(newResource([]*core.App{core.NewApp("orders")}))
	if err != nil || x == nil {
		t.Fatalf("otlpMetrics = %v, %v", x, err)
	}
	counter, err := x.provider.Meter("orders").Int64Counter("orders.recorded")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(t.Context(), 3)
	if err := x.shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, m := range c.Metrics() {
		if m.Name == "orders.recorded" {
			for _, p := range m.GetSum().GetDataPoints() {
				total += p.GetAsInt()
			}
		}
	}
	if total != 3 {
		t.Errorf("the collector received orders.recorded = %d, want 3", total)
	}
}

package otlp_test

import (
	"os"
	"testing"

	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/telemetry/otlp"
)

func TestOTLPConfigured(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		signal  otlp.Signal
		want    bool
		wantErr bool
	}{
		{"nothing set", nil, otlp.Traces, false, false},
		{"endpoint", map[string]string{otlp.EnvEndpoint: "http://127.0.0.1:4318"}, otlp.Traces, true, false},
		{"per-signal endpoint", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, otlp.Metrics, true, false},
		{"another signal's endpoint", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, otlp.Traces, false, false},
		{"exporter none", map[string]string{otlp.EnvEndpoint: "http://c:4318", otlp.EnvTracesExporter: "none"}, otlp.Traces, false, false},
		{"sdk disabled", map[string]string{otlp.EnvEndpoint: "http://c:4318", otlp.EnvSDKDisabled: "true"}, otlp.Metrics, false, false},
		{"http/protobuf", map[string]string{otlp.EnvEndpoint: "http://c:4318", otlp.EnvProtocol: "http/protobuf"}, otlp.Traces, true, false},
		{"grpc is not linked", map[string]string{otlp.EnvEndpoint: "http://c:4317", otlp.EnvProtocol: "grpc"}, otlp.Traces, false, true},
		{"per-signal protocol wins", map[string]string{otlp.EnvEndpoint: "http://c:4318", otlp.EnvProtocol: "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, otlp.Traces, true, false},
		{"another exporter", map[string]string{otlp.EnvEndpoint: "http://c:4318", otlp.EnvMetricsExporter: "prometheus"}, otlp.Metrics, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := otlp.Configured(tt.signal, func(k string) string { return tt.env[k] })
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("otlpConfigured = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTracerProviderOff(t *testing.T) {
	tp, err := otlp.TracerProvider(resource.Empty(), func(string) string { return "" })
	if tp != nil || err != nil {
		t.Errorf("with no collector: %v, %v; want none", tp, err)
	}
}

// TestOTLPMetrics exports a function's own instrument over OTLP when the
// provider stops.
func TestOTLPMetrics(t *testing.T) {
	c := emulators.StartOTLPReceiver(t)
	t.Setenv(otlp.EnvEndpoint, c.URL)
	mp, err := otlp.MeterProvider(resource.Empty(), os.Getenv, false)
	if err != nil || mp == nil {
		t.Fatalf("MeterProvider = %v, %v", mp, err)
	}
	counter, err := mp.Meter("orders").Int64Counter("orders.recorded")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(t.Context(), 3)
	if err := mp.Shutdown(t.Context()); err != nil {
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

func TestExemplarFilter(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == otlp.EnvExemplarFilter {
				return v
			}
			return ""
		}
	}
	if f := otlp.ExemplarFilter(env(""), false); f == nil || f(t.Context()) {
		t.Error("without traces: want a filter that offers nothing")
	}
	if f := otlp.ExemplarFilter(env(""), true); f != nil {
		t.Error("with traces: want the SDK's filter")
	}
	if f := otlp.ExemplarFilter(env("always_on"), false); f != nil {
		t.Error("with OTEL_METRICS_EXEMPLAR_FILTER set: want the SDK's, which reads it")
	}
}

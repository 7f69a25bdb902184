package launch

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/polyfn/polyfn/core"
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

// collector is an OTLP/HTTP receiver: it decodes what the exporters post.
type collector struct {
	mu      sync.Mutex
	traces  []*coltracepb.ExportTraceServiceRequest
	metrics []*colmetricpb.ExportMetricsServiceRequest
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var reply proto.Message
	switch r.URL.Path {
	case "/v1/traces":
		req := &coltracepb.ExportTraceServiceRequest{}
		err = proto.Unmarshal(body, req)
		c.traces = append(c.traces, req)
		reply = &coltracepb.ExportTraceServiceResponse{}
	case "/v1/metrics":
		req := &colmetricpb.ExportMetricsServiceRequest{}
		err = proto.Unmarshal(body, req)
		c.metrics = append(c.metrics, req)
		reply = &colmetricpb.ExportMetricsServiceResponse{}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, _ := proto.Marshal(reply)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

func stringAttr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestTracingExportsOTLP starts the process's telemetry against an OTLP
// receiver: an invocation's span reaches it continuing the caller's trace,
// with the function's resource, when the process stops.
func TestTracingExportsOTLP(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	t.Setenv(envEndpoint, srv.URL)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	t.Setenv(MetricsEnv, "off")

	stop := startTelemetry([]*core.App{core.NewApp("orders")})
	inv := &core.Invocation{ID: "inv-1", Cloud: Target, Function: "orders"}
	inv.Trace, _ = core.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	_, cancel := core.WithInvocation(context.Background(), inv)
	cancel()
	stop()

	c.mu.Lock()
	defer c.mu.Unlock()
	var found bool
	for _, req := range c.traces {
		for _, rs := range req.ResourceSpans {
			if got := stringAttr(rs.Resource.Attributes, "service.name"); got != "orders" {
				t.Errorf("service.name %q, want the app's name", got)
			}
			if got := stringAttr(rs.Resource.Attributes, "deployment.environment.name"); got != "test" {
				t.Errorf("OTEL_RESOURCE_ATTRIBUTES not applied: %q", got)
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if s.Name != "orders" {
						continue
					}
					found = true
					if hex.EncodeToString(s.TraceId) != "4bf92f3577b34da6a3ce929d0e0e4736" || hex.EncodeToString(s.ParentSpanId) != "00f067aa0ba902b7" {
						t.Errorf("span trace %x parent %x, want the caller's", s.TraceId, s.ParentSpanId)
					}
					if got := stringAttr(s.Attributes, "faas.invocation_id"); got != "inv-1" {
						t.Errorf("faas.invocation_id %q", got)
					}
				}
			}
		}
	}
	if !found {
		t.Fatalf("the invocation's span did not reach the collector (%d requests)", len(c.traces))
	}
}

// TestOTLPMetrics exports a function's own instrument over OTLP when the
// provider stops.
func TestOTLPMetrics(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	t.Setenv(envEndpoint, srv.URL)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	var total int64
	for _, req := range c.metrics {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if m.Name == "orders.recorded" {
						for _, p := range m.GetSum().GetDataPoints() {
							total += p.GetAsInt()
						}
					}
				}
			}
		}
	}
	if total != 3 {
		t.Errorf("the collector received orders.recorded = %d, want 3", total)
	}
}

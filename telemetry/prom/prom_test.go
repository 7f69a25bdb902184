package prom

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

func TestServeHTTP(t *testing.T) {
	e := New()
	m, err := telemetry.NewMetrics(e.MeterProvider(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := core.WithInvocation(t.Context(), &core.Invocation{ID: "1", Function: "users", ColdStart: true})
	m.Handled(ctx, core.Handled{Kind: core.KindHTTP, Duration: 20 * time.Millisecond, Status: 200})
	m.Handled(ctx, core.Handled{Kind: core.KindHTTP, Duration: 3 * time.Second, Status: 404, Err: core.Errorf(core.NotFound, "x")})
	m.Ended(ctx, &core.Invocation{Function: "users", ColdStart: true})
	end()
	g, _ := e.MeterProvider().Meter("t").Int64UpDownCounter("queue.depth")
	g.Add(ctx, 5, metric.WithAttributes(attribute.String("queue", `a"b`)))

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/_polyfn/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type = %q, want %q", ct, ContentType)
	}
	got := rec.Body.String()
	for _, want := range []string{
		"# TYPE faas_invocations_total counter\n",
		`faas_invocations_total{faas_name="users",faas_trigger="http"} 2` + "\n",
		`faas_errors_total{error_type="not-found",faas_name="users",faas_trigger="http"} 1` + "\n",
		`faas_coldstarts_total{faas_name="users"} 1` + "\n",
		"# TYPE faas_invoke_duration_seconds histogram\n",
		`faas_invoke_duration_seconds_bucket{faas_name="users",faas_trigger="http",le="0.025"} 1` + "\n",
		`faas_invoke_duration_seconds_bucket{faas_name="users",faas_trigger="http",le="2.5"} 1` + "\n",
		`faas_invoke_duration_seconds_bucket{faas_name="users",faas_trigger="http",le="5"} 2` + "\n",
		`faas_invoke_duration_seconds_bucket{faas_name="users",faas_trigger="http",le="+Inf"} 2` + "\n",
		`faas_invoke_duration_seconds_count{faas_name="users",faas_trigger="http"} 2` + "\n",
		"# TYPE queue_depth gauge\n",
		`queue_depth{queue="a\"b"} 5` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("exposition lacks %q:\n%s", want, got)
		}
	}
}

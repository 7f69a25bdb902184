package emf

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.opentelemetry.io/otel/metric"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/emf/emftest"
)

func compileSchema(t *testing.T) *emftest.Checker {
	t.Helper()
	return emftest.NewChecker(t, "testdata/emf.schema.json")
}

// checkDocument validates one EMF line (emftest.Checker.Check).
func checkDocument(t *testing.T, schema *emftest.Checker, line string) map[string]any {
	t.Helper()
	return schema.Check(t, line)
}

func TestFlushFollowsTheSpecification(t *testing.T) {
	schema := compileSchema(t)
	var out bytes.Buffer
	e := New(&out, "")
	e.now = func() time.Time { return time.UnixMilli(1_773_480_413_589) }
	m, err := telemetry.NewMetrics(e.MeterProvider(), &telemetry.MetricsOptions{
		Flush: func(ctx context.Context) {
			if err := e.Flush(ctx); err != nil {
				t.Error(err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A function's own metric, through the same provider.
	orders, err := e.MeterProvider().Meter("orders").Int64Counter("orders.recorded", metric.WithUnit("{order}"))
	if err != nil {
		t.Fatal(err)
	}

	core.SetObserver(m)
	defer core.SetObserver(nil)
	ctx, end := core.WithInvocation(t.Context(), &core.Invocation{ID: "r-1", Cloud: core.CloudAWS, Function: "orders", ColdStart: true})
	events := make([]core.Event, 3)
	for i := range events {
		if events[i], err = core.NewEvent(core.TypeMessage, "id-"+string(rune('a'+i)), "queue", &core.Message{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	failures := core.ProcessBatch(ctx, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		orders.Add(ctx, 1)
		if e.ID() == "id-b" {
			return core.Errorf(core.ResourceExhausted, "slow down")
		}
		return nil
	}), events, nil)
	if len(failures) != 1 {
		t.Fatalf("got %d failures, want 1", len(failures))
	}
	if out.Len() != 0 {
		t.Fatalf("metrics written before the invocation ended: %s", out.String())
	}
	end()
	end() // the invocation ends once

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	got := map[string]any{}
	for _, line := range lines {
		doc := checkDocument(t, schema, line)
		key := ""
		for _, k := range []string{"Trigger", "ErrorCode"} {
			if v, ok := doc[k].(string); ok {
				key += k + "=" + v + " "
			}
		}
		for k, v := range doc {
			switch k {
			case "_aws", "FunctionName", "Trigger", "ErrorCode":
				continue
			}
			got[key+k] = v
		}
		if doc["_aws"].(map[string]any)["Timestamp"] != float64(1_773_480_413_589) {
			t.Errorf("line %s: wrong timestamp", line)
		}
	}
	want := map[string]any{
		"Trigger=pubsub Invocations":                         float64(3),
		"Trigger=pubsub ErrorCode=resource-exhausted Errors": float64(1),
		"Trigger=pubsub Throttles":                           float64(1),
		"BatchItemFailures":                                  float64(1),
		"ColdStarts":                                         float64(1),
		"orders.recorded":                                    float64(3),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if d, ok := got["Trigger=pubsub Duration"].([]any); !ok || len(d) != 3 {
		t.Errorf("Duration = %v, want 3 values", got["Trigger=pubsub Duration"])
	}
	if !strings.Contains(out.String(), `"Dimensions":[["ErrorCode","FunctionName","Trigger"],["FunctionName"]]`) {
		t.Errorf("errors do not roll up to the function: %s", out.String())
	}

	// Nothing new is recorded: the next flush writes nothing.
	out.Reset()
	if err := e.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("an empty flush wrote %s", out.String())
	}
}

func TestHTTPInvocationDuration(t *testing.T) {
	schema := compileSchema(t)
	var out bytes.Buffer
	e := New(&out, "shop")
	m, err := telemetry.NewMetrics(e.MeterProvider(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := core.WithInvocation(t.Context(), &core.Invocation{ID: "r-2", Function: "users"})
	defer end()
	m.Handled(ctx, core.Handled{Kind: core.KindHTTP, Duration: 1500 * time.Microsecond, Status: 503,
		Err: core.Errorf(core.Unavailable, "down")})
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var sawDuration bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		doc := checkDocument(t, schema, line)
		if d, ok := doc["Duration"]; ok {
			sawDuration = true
			if d != 1.5 {
				t.Errorf("Duration = %v ms, want 1.5", d)
			}
			if !strings.Contains(line, `{"Name":"Duration","Unit":"Milliseconds"}`) || !strings.Contains(line, `"Namespace":"shop"`) {
				t.Errorf("line %s: want Duration in Milliseconds in namespace shop", line)
			}
		}
	}
	if !sawDuration {
		t.Errorf("no Duration in %s", out.String())
	}
}

func TestSchemaRejectsMalformedDocuments(t *testing.T) {
	schema := compileSchema(t)
	for _, doc := range []string{
		`{"Count":1}`,
		`{"_aws":{"CloudWatchMetrics":[]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"","Dimensions":[],"Metrics":[]}]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[],"Metrics":[{"Name":"m","Unit":"Furlongs"}]}]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"m":{"Values":[1]}}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		var verr *jsonschema.ValidationError
		if err := schema.Schema().Validate(v); !errors.As(err, &verr) {
			t.Errorf("%s: got %v, want a validation error", doc, err)
		}
	}
}

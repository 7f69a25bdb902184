package telemetry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// newReader returns a ManualReader of the given temporality and Metrics
// recording into its provider.
func newReader(t *testing.T, temporality metricdata.Temporality) (*sdkmetric.ManualReader, *telemetry.Metrics) {
	t.Helper()
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return temporality
	}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(resource.Empty()))
	m, err := telemetry.NewMetrics(mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reader, m
}

// sums collects reader and returns each counter's points as
// "name{attrs}" → value, and the histogram's counts alike.
func sums(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Errorf("%s is not monotonic", m.Name)
				}
				for _, p := range d.DataPoints {
					got[m.Name+p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name+p.Attributes.Encoded(attribute.DefaultEncoder())] = int64(p.Count)
				}
			default:
				t.Errorf("%s is a %T", m.Name, m.Data)
			}
		}
	}
	return got
}

func invoke(m *telemetry.Metrics, function string, err error) {
	inv := &core.Invocation{ID: "i", Function: function}
	ctx, end := core.WithInvocation(context.Background(), inv)
	defer end()
	m.Handled(ctx, core.Handled{Kind: core.KindMessage, Duration: time.Millisecond, Err: err})
}

// TestMetricsTemporality checks that the counts, kept by Metrics and
// observed at each collection, reach a delta reader as what was added
// since the last collection and a cumulative one as totals, with the
// histogram alongside.
func TestMetricsTemporality(t *testing.T) {
	const (
		calls  = telemetry.MetricInvocations + "faas.name=orders,faas.trigger=pubsub"
		errs   = telemetry.MetricErrors + "error.type=resource-exhausted,faas.name=orders,faas.trigger=pubsub"
		thrott = telemetry.MetricThrottles + "faas.name=orders,faas.trigger=pubsub"
		durs   = telemetry.MetricDuration + "faas.name=orders,faas.trigger=pubsub"
	)
	for _, tc := range []struct {
		temporality metricdata.Temporality
		second      map[string]int64
	}{
		{metricdata.DeltaTemporality, map[string]int64{calls: 1, errs: 0, thrott: 0, durs: 1}},
		{metricdata.CumulativeTemporality, map[string]int64{calls: 3, errs: 1, thrott: 1, durs: 3}},
	} {
		t.Run(tc.temporality.String(), func(t *testing.T) {
			reader, m := newReader(t, tc.temporality)
			invoke(m, "orders", nil)
			invoke(m, "orders", core.Errorf(core.ResourceExhausted, "slow down"))
			first := sums(t, reader)
			for k, want := range map[string]int64{calls: 2, errs: 1, thrott: 1, durs: 2} {
				if first[k] != want {
					t.Errorf("first collection: %s = %d, want %d (all: %v)", k, first[k], want, first)
				}
			}
			invoke(m, "orders", nil)
			second := sums(t, reader)
			for k, want := range tc.second {
				if second[k] != want {
					t.Errorf("second collection: %s = %d, want %d (all: %v)", k, second[k], want, second)
				}
			}
		})
	}
}

// TestMetricsOverflow checks that attribute sets past the bound share the
// overflow set, as the SDK's cardinality limit does, and lose no count.
func TestMetricsOverflow(t *testing.T) {
	reader, m := newReader(t, metricdata.CumulativeTemporality)
	const functions = 1100
	for i := range functions {
		invoke(m, fmt.Sprintf("f-%d", i), nil)
	}
	got := sums(t, reader)
	var total, sets int64
	for k, v := range got {
		if len(k) > len(telemetry.MetricInvocations) && k[:len(telemetry.MetricInvocations)] == telemetry.MetricInvocations {
			total += v
			sets++
		}
	}
	if total != functions {
		t.Errorf("invocations add up to %d, want %d", total, functions)
	}
	if overflow := got[telemetry.MetricInvocations+"otel.metric.overflow=true"]; overflow != functions-1024 || sets != 1025 {
		t.Errorf("%d sets with %d invocations in the overflow set, want 1025 and %d", sets, overflow, functions-1024)
	}
}

// TestMetricsHandledAllocations checks that recording a run allocates
// nothing once its attribute set is known, also when a process's
// functions take turns (as an Azure function app's do).
func TestMetricsHandledAllocations(t *testing.T) {
	_, m := newReader(t, metricdata.DeltaTemporality)
	var ctxs []context.Context
	for _, fn := range []string{"orders", "users"} {
		ctx, end := core.WithInvocation(t.Context(), &core.Invocation{ID: "i", Function: fn})
		defer end()
		ctxs = append(ctxs, ctx)
	}
	h := core.Handled{Kind: core.KindMessage, Duration: time.Millisecond}
	for _, ctx := range ctxs {
		m.Handled(ctx, h)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, ctx := range ctxs {
			m.Handled(ctx, h)
		}
	}); n != 0 {
		t.Errorf("got %v allocations per pair of runs, want 0", n)
	}
}

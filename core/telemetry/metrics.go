package telemetry

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/polyfn/polyfn/core"
)

// The built-in instruments, named after OpenTelemetry's FaaS metrics
// semantic conventions where one exists.
const (
	MetricInvocations = "faas.invocations"      // counter: handler runs (HTTP requests and events)
	MetricErrors      = "faas.errors"           // counter: failed runs, by error.type (a core.Code)
	MetricDuration    = "faas.invoke_duration"  // histogram, seconds
	MetricColdStarts  = "faas.coldstarts"       // counter: the process's first invocation
	MetricBatchFailed = "polyfn.batch.failures" // counter: events of a batch reported failed
	MetricThrottles   = "polyfn.throttles"      // counter: runs refused with resource-exhausted (HTTP 429)
	meterName         = "github.com/polyfn/polyfn"
)

// The attributes of the built-in instruments.
const (
	AttrFunction  = attribute.Key("faas.name")    // the function (core.Invocation.Function)
	AttrTrigger   = attribute.Key("faas.trigger") // http, pubsub, datasource, timer, other
	AttrErrorType = attribute.Key("error.type")   // the core.Code's name
)

// durationBuckets are the histogram's bucket boundaries, in seconds.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// Metrics records the built-in metrics of every function. It is a
// core.Observer: install it with core.SetObserver and every adapter's
// invocations are measured where core runs them.
type Metrics struct {
	invocations, errors, coldStarts, batchFailed, throttles metric.Int64Counter
	duration                                                metric.Float64Histogram

	flush func(context.Context)
	cold  atomic.Bool

	// sets caches the measurement options of each attribute set (setKey →
	// *measurement): building an attribute.Set sorts and copies its
	// attributes, and a process sees few sets, as many as its functions,
	// triggers and error codes.
	sets    sync.Map
	setsLen atomic.Int32
}

// maxCachedSets bounds Metrics.sets, should a function's name vary.
const maxCachedSets = 1024

// setKey names an attribute set of the built-in instruments: the function
// alone when trigger is empty, else the function and trigger, and the error
// type when there is one.
type setKey struct{ function, trigger, errorType string }

// measurement holds the options that record with one attribute set.
type measurement struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

// measurementOf returns the options that record with k's attribute set.
func (m *Metrics) measurementOf(k setKey) *measurement {
	if v, ok := m.sets.Load(k); ok {
		return v.(*measurement)
	}
	kvs := make([]attribute.KeyValue, 0, 3)
	kvs = append(kvs, AttrFunction.String(k.function))
	if k.trigger != "" {
		kvs = append(kvs, AttrTrigger.String(k.trigger))
	}
	if k.errorType != "" {
		kvs = append(kvs, AttrErrorType.String(k.errorType))
	}
	opt := metric.WithAttributeSet(attribute.NewSet(kvs...))
	ms := &measurement{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}}
	if m.setsLen.Load() < maxCachedSets {
		if v, loaded := m.sets.LoadOrStore(k, ms); loaded {
			return v.(*measurement)
		}
		m.setsLen.Add(1)
	}
	return ms
}

var _ core.Observer = (*Metrics)(nil)

// MetricsOptions configure Metrics. A nil *MetricsOptions means the defaults.
type MetricsOptions struct {
	// Flush is called at the end of every invocation, after its metrics
	// were recorded: an exporter that writes per invocation (CloudWatch EMF)
	// collects and writes there.
	Flush func(context.Context)
}

// NewMetrics creates the built-in instruments with mp's meter.
func NewMetrics(mp metric.MeterProvider, opts *MetricsOptions) (*Metrics, error) {
	m := &Metrics{}
	if opts != nil {
		m.flush = opts.Flush
	}
	meter := mp.Meter(meterName)
	var err error
	counter := func(name, unit, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return c
	}
	m.invocations = counter(MetricInvocations, "{invocation}", "Handler runs: HTTP requests and events.")
	m.errors = counter(MetricErrors, "{error}", "Failed handler runs, by error type.")
	m.coldStarts = counter(MetricColdStarts, "{coldstart}", "Invocations that started a process.")
	m.batchFailed = counter(MetricBatchFailed, "{event}", "Events of a batch reported as failed to the platform.")
	m.throttles = counter(MetricThrottles, "{request}", "Handler runs refused for a quota or rate limit.")
	if err != nil {
		return nil, err
	}
	m.duration, err = meter.Float64Histogram(MetricDuration, metric.WithUnit("s"),
		metric.WithDescription("How long handlers ran."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Trigger names a core.Kind with the faas.trigger values of OpenTelemetry's
// semantic conventions.
func Trigger(k core.Kind) string {
	switch k {
	case core.KindHTTP:
		return "http"
	case core.KindMessage:
		return "pubsub"
	case core.KindObjectCreated, core.KindObjectDeleted, core.KindChange:
		return "datasource"
	case core.KindTimer:
		return "timer"
	}
	return "other"
}

func functionOf(ctx context.Context) string {
	if inv, ok := core.InvocationFrom(ctx); ok {
		return inv.Function
	}
	return ""
}

// Handled records one handler run.
func (m *Metrics) Handled(ctx context.Context, h core.Handled) {
	k := setKey{function: functionOf(ctx), trigger: Trigger(h.Kind)}
	ms := m.measurementOf(k)
	m.invocations.Add(ctx, 1, ms.add...)
	m.duration.Record(ctx, h.Duration.Seconds(), ms.record...)
	if h.Err == nil {
		return
	}
	code := core.CodeOf(h.Err)
	k.errorType = code.String()
	m.errors.Add(ctx, 1, m.measurementOf(k).add...)
	if code == core.ResourceExhausted {
		m.throttles.Add(ctx, 1, ms.add...)
	}
}

// Batch records a batch's failed events.
func (m *Metrics) Batch(ctx context.Context, size, failed int) {
	if failed > 0 {
		m.batchFailed.Add(ctx, int64(failed), m.measurementOf(setKey{function: functionOf(ctx)}).add...)
	}
}

// Ended records a cold start, once per process, and flushes.
func (m *Metrics) Ended(ctx context.Context, inv *core.Invocation) {
	if inv.ColdStart && m.cold.CompareAndSwap(false, true) {
		m.coldStarts.Add(ctx, 1, m.measurementOf(setKey{function: inv.Function}).add...)
	}
	if m.flush != nil {
		m.flush(ctx)
	}
}

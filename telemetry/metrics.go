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
//
// The counters are OpenTelemetry observable counters: an invocation adds to
// an atomic count of its attribute set, and a reader's collection observes
// the totals, so that counting costs an invocation nanoseconds rather than a
// synchronous instrument's attribute lookup per counter. The duration is a
// synchronous histogram, which has no observable form.
type Metrics struct {
	counters [numCounters]metric.Int64ObservableCounter
	duration metric.Float64Histogram

	flush func(context.Context)
	cold  atomic.Bool

	// sets holds the measurement of each attribute set (setKey →
	// *measurement): its options and counts. Building an attribute.Set
	// sorts and copies its attributes, and a process sees few sets, as many
	// as its functions, triggers and error codes; past maxSets, the rest
	// share overflow, as the SDK's own cardinality limit does.
	sets     sync.Map
	setsLen  atomic.Int32
	overflow *measurement
	// last is the set of the latest handler run: a process mostly runs one
	// function with one trigger, whose set is found here without hashing.
	last atomic.Pointer[measurement]
}

// maxSets bounds Metrics.sets, should a function's name vary.
const maxSets = 1024

// The counters, indexes of Metrics.counters and measurement.counts.
const (
	countInvocations = iota
	countErrors
	countColdStarts
	countBatchFailed
	countThrottles
	numCounters
)

// setKey names an attribute set of the built-in instruments: the function
// alone when trigger is empty, else the function and trigger, and the error
// type when there is one.
type setKey struct{ function, trigger, errorType string }

// measurement is one attribute set's key, options and the totals of the
// counters recorded with it.
type measurement struct {
	key     setKey
	record  []metric.RecordOption
	observe []metric.ObserveOption
	counts  [numCounters]atomic.Int64
}

func newMeasurement(k setKey, set attribute.Set) *measurement {
	opt := metric.WithAttributeSet(set)
	return &measurement{key: k, record: []metric.RecordOption{opt}, observe: []metric.ObserveOption{opt}}
}

// measurementOf returns the measurement of k's attribute set.
func (m *Metrics) measurementOf(k setKey) *measurement {
	if v, ok := m.sets.Load(k); ok {
		return v.(*measurement)
	}
	if m.setsLen.Load() >= maxSets {
		return m.overflow
	}
	kvs := make([]attribute.KeyValue, 0, 3)
	kvs = append(kvs, AttrFunction.String(k.function))
	if k.trigger != "" {
		kvs = append(kvs, AttrTrigger.String(k.trigger))
	}
	if k.errorType != "" {
		kvs = append(kvs, AttrErrorType.String(k.errorType))
	}
	v, loaded := m.sets.LoadOrStore(k, newMeasurement(k, attribute.NewSet(kvs...)))
	if !loaded {
		m.setsLen.Add(1)
	}
	return v.(*measurement)
}

// observe reports every count that was ever added to.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	report := func(ms *measurement) {
		for i := range ms.counts {
			if n := ms.counts[i].Load(); n > 0 {
				o.ObserveInt64(m.counters[i], n, ms.observe...)
			}
		}
	}
	m.sets.Range(func(_, v any) bool {
		report(v.(*measurement))
		return true
	})
	report(m.overflow)
	return nil
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
	// The overflow set's key is no set's: it is never the latest.
	m := &Metrics{overflow: newMeasurement(setKey{}, attribute.NewSet(attribute.Bool("otel.metric.overflow", true)))}
	if opts != nil {
		m.flush = opts.Flush
	}
	meter := mp.Meter(meterName)
	for i, c := range [numCounters]struct{ name, unit, desc string }{
		countInvocations: {MetricInvocations, "{invocation}", "Handler runs: HTTP requests and events."},
		countErrors:      {MetricErrors, "{error}", "Failed handler runs, by error type."},
		countColdStarts:  {MetricColdStarts, "{coldstart}", "Invocations that started a process."},
		countBatchFailed: {MetricBatchFailed, "{event}", "Events of a batch reported as failed to the platform."},
		countThrottles:   {MetricThrottles, "{request}", "Handler runs refused for a quota or rate limit."},
	} {
		var err error
		if m.counters[i], err = meter.Int64ObservableCounter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.desc)); err != nil {
			return nil, err
		}
	}
	var err error
	m.duration, err = meter.Float64Histogram(MetricDuration, metric.WithUnit("s"),
		metric.WithDescription("How long handlers ran."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	observables := make([]metric.Observable, len(m.counters))
	for i, c := range m.counters {
		observables[i] = c
	}
	if _, err := meter.RegisterCallback(m.observe, observables...); err != nil {
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
	ms := m.last.Load()
	if ms == nil || ms.key != k {
		ms = m.measurementOf(k)
		m.last.Store(ms)
	}
	ms.counts[countInvocations].Add(1)
	m.duration.Record(ctx, h.Duration.Seconds(), ms.record...)
	if h.Err == nil {
		return
	}
	code := core.CodeOf(h.Err)
	k.errorType = code.String()
	m.measurementOf(k).counts[countErrors].Add(1)
	if code == core.ResourceExhausted {
		ms.counts[countThrottles].Add(1)
	}
}

// Batch records a batch's failed events.
func (m *Metrics) Batch(ctx context.Context, size, failed int) {
	if failed > 0 {
		m.measurementOf(setKey{function: functionOf(ctx)}).counts[countBatchFailed].Add(int64(failed))
	}
}

// Ended records a cold start, once per process, and flushes.
func (m *Metrics) Ended(ctx context.Context, inv *core.Invocation) {
	if inv.ColdStart && m.cold.CompareAndSwap(false, true) {
		m.measurementOf(setKey{function: inv.Function}).counts[countColdStarts].Add(1)
	}
	if m.flush != nil {
		m.flush(ctx)
	}
}

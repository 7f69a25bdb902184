// Package emf exports OpenTelemetry metrics as CloudWatch Embedded Metric
// Format: one JSON object per line on a writer (a Lambda function's stdout),
// which CloudWatch Logs turns into metrics without any network call from the
// function. Flush writes what was recorded since the last flush, so metrics
// reach CloudWatch at the end of each invocation.
//
// Specification:
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package emf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/telemetry"
)

// DefaultNamespace is the CloudWatch namespace of the metrics.
const DefaultNamespace = "polyfn"

// maxValues is how many values one EMF metric may carry, and maxMetrics how
// many metrics one directive may declare (the specification's limits).
const (
	maxValues  = 100
	maxMetrics = 100
)

// Exporter collects metrics through an OpenTelemetry ManualReader with
// delta temporality and writes them as EMF lines.
type Exporter struct {
	reader    *sdkmetric.ManualReader
	provider  *sdkmetric.MeterProvider
	namespace string
	now       func() time.Time

	mu sync.Mutex // held by Flush
	w  io.Writer
	rm metricdata.ResourceMetrics // reused by each Collect
}

// New returns an exporter writing to w under namespace (DefaultNamespace if
// empty). Nothing is written until Flush.
func New(w io.Writer, namespace string) *Exporter {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return metricdata.DeltaTemporality
	}))
	return &Exporter{
		reader: reader,
		// EMF has no exemplars: measurements are not offered to a reservoir.
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(resource.Empty()),
			sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)),
		namespace: namespace,
		now:       time.Now,
		w:         w,
	}
}

// MeterProvider is the provider whose instruments the exporter collects.
func (e *Exporter) MeterProvider() *sdkmetric.MeterProvider { return e.provider }

// Flush writes the metrics recorded since the last Flush, one line per
// attribute set. It writes nothing when nothing was recorded.
func (e *Exporter) Flush(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Collect reuses the previous collection's slices.
	if err := e.reader.Collect(ctx, &e.rm); err != nil {
		return err
	}
	docs := e.documents(&e.rm)
	if len(docs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, d := range docs {
		line, err := json.Marshal(d)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	_, err := e.w.Write(buf.Bytes())
	return err
}

// Shutdown stops the provider; later measurements are dropped.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.provider.Shutdown(ctx) }

// The CloudWatch names of the built-in instruments and their attributes.
var (
	metricNames = map[string]string{
		telemetry.MetricInvocations: "Invocations",
		telemetry.MetricErrors:      "Errors",
		telemetry.MetricDuration:    "Duration",
		telemetry.MetricColdStarts:  "ColdStarts",
		telemetry.MetricBatchFailed: "BatchItemFailures",
		telemetry.MetricThrottles:   "Throttles",
	}
	dimensionNames = map[attribute.Key]string{
		telemetry.AttrFunction:  "FunctionName",
		telemetry.AttrTrigger:   "Trigger",
		telemetry.AttrErrorType: "ErrorCode",
	}
)

// document is one EMF object: the _aws metadata, the dimension values and
// the metric values as its root members.
type document map[string]any

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

// group is the metrics of one attribute set.
type group struct {
	dims    []string
	values  map[string]string
	metrics []definition
	data    map[string]any
}

func (e *Exporter) documents(rm *metricdata.ResourceMetrics) []document {
	groups := map[attribute.Distinct]*group{}
	var order []attribute.Distinct
	add := func(set attribute.Set, name, unit string, value any) {
		key := set.Equivalent()
		g, ok := groups[key]
		if !ok {
			g = &group{dims: []string{}, values: map[string]string{}, data: map[string]any{}}
			for _, kv := range set.ToSlice() {
				d := dimensionName(kv.Key)
				g.dims = append(g.dims, d)
				g.values[d] = kv.Value.Emit()
			}
			groups[key] = g
			order = append(order, key)
		}
		if _, dup := g.data[name]; dup || len(g.metrics) >= maxMetrics {
			return
		}
		g.metrics = append(g.metrics, definition{Name: name, Unit: unit})
		g.data[name] = value
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			name, scale, unit := metricName(m.Name), 1.0, cloudWatchUnit(m.Unit)
			if m.Unit == "s" {
				scale, unit = 1000, "Milliseconds"
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if p.Value != 0 {
						add(p.Attributes, name, countUnit(unit), float64(p.Value)*scale)
					}
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					if p.Value != 0 {
						add(p.Attributes, name, countUnit(unit), p.Value*scale)
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, name, unit, float64(p.Value)*scale)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, name, unit, p.Value*scale)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if p.Count > 0 {
						add(p.Attributes, name, unit, histogramValues(p, scale))
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					if p.Count > 0 {
						add(p.Attributes, name, unit, histogramValues(toFloat(p), scale))
					}
				}
			}
		}
	}
	ts := e.now().UnixMilli()
	docs := make([]document, 0, len(order))
	for _, key := range order {
		g := groups[key]
		dims := [][]string{g.dims}
		// Metrics with more dimensions than the function roll up to it too,
		// so an alarm can watch a function's errors of every code at once.
		if fn := dimensionNames[telemetry.AttrFunction]; len(g.dims) > 1 && slices.Contains(g.dims, fn) {
			dims = append(dims, []string{fn})
		}
		doc := document{"_aws": map[string]any{
			"Timestamp":         ts,
			"CloudWatchMetrics": []directive{{Namespace: e.namespace, Dimensions: dims, Metrics: g.metrics}},
		}}
		for k, v := range g.values {
			doc[k] = v
		}
		for k, v := range g.data {
			doc[k] = v
		}
		docs = append(docs, doc)
	}
	return docs
}

func metricName(n string) string {
	if cw, ok := metricNames[n]; ok {
		return cw
	}
	return n
}

func dimensionName(k attribute.Key) string {
	if cw, ok := dimensionNames[k]; ok {
		return cw
	}
	return string(k)
}

// cloudWatchUnit maps an OpenTelemetry (UCUM) unit to a CloudWatch unit.
func cloudWatchUnit(u string) string {
	switch u {
	case "ms":
		return "Milliseconds"
	case "us":
		return "Microseconds"
	case "By":
		return "Bytes"
	case "KBy":
		return "Kilobytes"
	case "MBy":
		return "Megabytes"
	case "%":
		return "Percent"
	case "1", "":
		return "None"
	}
	if len(u) > 1 && u[0] == '{' && u[len(u)-1] == '}' { // an annotation: a count of things
		return "Count"
	}
	return "None"
}

// countUnit is the unit of a sum: a count unless it has a unit of its own.
func countUnit(u string) string {
	if u == "None" {
		return "Count"
	}
	return u
}

// histogramValues turns a histogram point into EMF values: its exact value
// when it holds one measurement (the usual case, flushed per invocation),
// else one value per measurement at the middle of its bucket, within the
// point's minimum and maximum, at most maxValues of them.
func histogramValues(p metricdata.HistogramDataPoint[float64], scale float64) any {
	if p.Count == 1 {
		return p.Sum * scale
	}
	lo, hasMin := p.Min.Value()
	hi, hasMax := p.Max.Value()
	var values []float64
	for i, c := range p.BucketCounts {
		if c == 0 {
			continue
		}
		low, high := math.Inf(-1), math.Inf(1)
		if i > 0 {
			low = p.Bounds[i-1]
		}
		if i < len(p.Bounds) {
			high = p.Bounds[i]
		}
		if hasMin {
			low = math.Max(low, lo)
		}
		if hasMax {
			high = math.Min(high, hi)
		}
		v := (low + high) / 2
		switch {
		case math.IsInf(low, -1):
			v = high
		case math.IsInf(high, 1):
			v = low
		}
		for ; c > 0 && len(values) < maxValues; c-- {
			values = append(values, v*scale)
		}
	}
	sort.Float64s(values)
	return values
}

func toFloat(p metricdata.HistogramDataPoint[int64]) metricdata.HistogramDataPoint[float64] {
	q := metricdata.HistogramDataPoint[float64]{
		Attributes: p.Attributes, Count: p.Count, Bounds: p.Bounds, BucketCounts: p.BucketCounts, Sum: float64(p.Sum),
	}
	if v, ok := p.Min.Value(); ok {
		q.Min = metricdata.NewExtrema(float64(v))
	}
	if v, ok := p.Max.Value(); ok {
		q.Max = metricdata.NewExtrema(float64(v))
	}
	return q
}

// Package prom serves OpenTelemetry metrics in the Prometheus text
// exposition format (version 0.0.4), read from an SDK ManualReader at each
// scrape: the local runtime's metrics endpoint, without a Prometheus client
// library.
package prom

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Exporter is a cumulative ManualReader and the provider that feeds it.
type Exporter struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

// New returns an exporter; metrics are read when it is scraped. The text
// format has no exemplars: measurements are not offered to a reservoir.
func New() *Exporter {
	reader := sdkmetric.NewManualReader()
	return &Exporter{reader: reader, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithResource(resource.Empty()), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))}
}

// MeterProvider is the provider whose instruments the exporter serves.
func (e *Exporter) MeterProvider() *sdkmetric.MeterProvider { return e.provider }

// ServeHTTP writes every metric in the text exposition format.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(r.Context(), &rm); err != nil {
		http.Error(w, "prom: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	bw := bufio.NewWriter(w)
	Write(bw, &rm)
	_ = bw.Flush()
}

// Write writes rm in the text exposition format: a counter's name gets the
// suffix _total, a unit of seconds or bytes the suffix _seconds or _bytes,
// and every character Prometheus does not allow in a name becomes '_'.
func Write(w *bufio.Writer, rm *metricdata.ResourceMetrics) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			name := Name(m.Name, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				header(w, name, m.Description, d.IsMonotonic)
				for _, p := range d.DataPoints {
					sample(w, suffix(name, d.IsMonotonic), p.Attributes, "", "", float64(p.Value))
				}
			case metricdata.Sum[float64]:
				header(w, name, m.Description, d.IsMonotonic)
				for _, p := range d.DataPoints {
					sample(w, suffix(name, d.IsMonotonic), p.Attributes, "", "", p.Value)
				}
			case metricdata.Gauge[int64]:
				header(w, name, m.Description, false)
				for _, p := range d.DataPoints {
					sample(w, name, p.Attributes, "", "", float64(p.Value))
				}
			case metricdata.Gauge[float64]:
				header(w, name, m.Description, false)
				for _, p := range d.DataPoints {
					sample(w, name, p.Attributes, "", "", p.Value)
				}
			case metricdata.Histogram[float64]:
				fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, escapeHelp(m.Description), name)
				for _, p := range d.DataPoints {
					var cum uint64
					for i, c := range p.BucketCounts {
						cum += c
						le := "+Inf"
						if i < len(p.Bounds) {
							le = formatFloat(p.Bounds[i])
						}
						sample(w, name+"_bucket", p.Attributes, "le", le, float64(cum))
					}
					sample(w, name+"_sum", p.Attributes, "", "", p.Sum)
					sample(w, name+"_count", p.Attributes, "", "", float64(p.Count))
				}
			}
		}
	}
}

func suffix(name string, monotonic bool) string {
	if monotonic {
		return name + "_total"
	}
	return name
}

func header(w *bufio.Writer, name, help string, counter bool) {
	typ := "gauge"
	if counter {
		typ = "counter"
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", suffix(name, counter), escapeHelp(help), suffix(name, counter), typ)
}

// Name is the Prometheus name of an OpenTelemetry instrument.
func Name(name, unit string) string {
	n := sanitize(name)
	switch unit {
	case "s":
		n += "_seconds"
	case "ms":
		n += "_milliseconds"
	case "By":
		n += "_bytes"
	}
	return n
}

func sanitize(s string) string {
	var b strings.Builder
	for i, r := range s {
		ok := r == '_' || r == ':' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sample(w *bufio.Writer, name string, attrs attribute.Set, extraKey, extraValue string, v float64) {
	w.WriteString(name)
	kvs := attrs.ToSlice()
	labels := make([]string, 0, len(kvs)+1)
	for _, kv := range kvs {
		labels = append(labels, sanitize(string(kv.Key))+`="`+escapeLabel(kv.Value.Emit())+`"`)
	}
	sort.Strings(labels)
	if extraKey != "" {
		labels = append(labels, extraKey+`="`+extraValue+`"`)
	}
	if len(labels) > 0 {
		w.WriteString("{" + strings.Join(labels, ",") + "}")
	}
	w.WriteString(" " + formatFloat(v) + "\n")
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// Package telemetrytest measures what observability adds to an invocation:
// one log record through a cloud's log handler and the built-in metrics
// (telemetry.Metrics), against the same invocation without them. Each
// adapter runs RunInvocationBenchmarks with its own handler, exporter and
// invocation context, so that the figures compare like with like;
// RunLogBenchmarks measures the record alone from the same description.
//
// Its log-shape checks (CheckLogShape, CheckLogScript, CheckLogLines, over
// the scripts of RunLogScript) hold each cloud's handler to the lines of
// the slog.JSONHandler it is made of, the invocation's fields added after
// the message; TestLogHandler holds it to slog's contract.
package telemetrytest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/otlp"
)

// Invocation describes one cloud's invocation for RunInvocationBenchmarks.
type Invocation struct {
	// Handler is the cloud's log handler as its build installs it, writing
	// to io.Discard.
	Handler slog.Handler
	// MeterProvider is the provider of the build's metric exporter; nil
	// means an SDK provider with a delta ManualReader, as an exporter that
	// collects per invocation has, and the exemplar filter of an OTLP build
	// that exports no traces (otlp.ExemplarFilter).
	MeterProvider metric.MeterProvider
	// Flush is the exporter's work at the end of each invocation (writing
	// CloudWatch EMF), measured in a sub-benchmark of its own; nil if the
	// exporter has none.
	Flush func(context.Context) error
	// Context adds to an invocation's context what the adapter adds before
	// the function runs (Azure's Logs buffer, the HTTP request on GCP). It
	// runs in every sub-benchmark, the bare one included.
	Context func(context.Context) context.Context
	// Metadata is the invocation's metadata (a copy is made per run).
	Metadata core.Invocation
}

// RunInvocationBenchmarks runs one invocation of an event handler per
// iteration: core.WithInvocation, the adapter's context, core.Invoke and
// the invocation's end. Sub-benchmarks, named telemetry=…:
//
//   - bare: no observer; the handler logs nothing;
//   - log: the handler logs one record with the invocation's context;
//   - metrics: telemetry.Metrics observes the run and the end (no flush);
//   - log+metrics: both, what the ≤ 2 µs target is about;
//   - log+metrics+flush: and the exporter's flush, when it has one.
//
// Besides wall time each reports cpu-ns/op, the process's CPU time per
// invocation (getrusage), which other work on a shared machine disturbs
// less. Compare each with bare: benchstat -col /telemetry.
func RunInvocationBenchmarks(b *testing.B, inv Invocation) {
	e, err := core.NewEvent(core.TypeMessage, "m-1", "queue", &core.Message{ID: "m-1", Body: []byte(`{"name":"Ada"}`)})
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(inv.Handler)
	quiet := core.HandlerFunc(func(ctx context.Context, e core.Event) error { return nil })
	logging := core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		logger.InfoContext(ctx, "user created", slog.String("user_id", "u-17"), slog.Int("status", 201))
		return nil
	})
	mp := inv.MeterProvider
	if mp == nil {
		reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
			return metricdata.DeltaTemporality
		}))
		opts := []sdkmetric.Option{sdkmetric.WithReader(reader), sdkmetric.WithResource(resource.Empty())}
		if f := otlp.ExemplarFilter(func(string) string { return "" }, false); f != nil {
			opts = append(opts, sdkmetric.WithExemplarFilter(f))
		}
		mp = sdkmetric.NewMeterProvider(opts...)
	}
	cases := []struct {
		name    string
		h       core.Handler
		metrics bool
		flush   bool
	}{
		{"bare", quiet, false, false},
		{"log", logging, false, false},
		{"metrics", quiet, true, false},
		{"log+metrics", logging, true, false},
		{"log+metrics+flush", logging, true, true},
	}
	for _, c := range cases {
		if c.flush && inv.Flush == nil {
			continue
		}
		b.Run("telemetry="+c.name, func(b *testing.B) {
			if c.metrics {
				opts := &telemetry.MetricsOptions{}
				if c.flush {
					opts.Flush = func(ctx context.Context) {
						if err := inv.Flush(ctx); err != nil {
							b.Error(err)
						}
					}
				}
				m, err := telemetry.NewMetrics(mp, opts)
				if err != nil {
					b.Fatal(err)
				}
				core.SetObserver(m)
				defer core.SetObserver(nil)
			}
			base := context.Background()
			b.ReportAllocs()
			cpu0, cpuOK := cpuTime()
			for b.Loop() {
				md := inv.Metadata
				ctx, end := core.WithInvocation(base, &md)
				if inv.Context != nil {
					ctx = inv.Context(ctx)
				}
				if err := core.Invoke(ctx, c.h, e); err != nil {
					b.Fatal(err)
				}
				end()
			}
			if cpu1, ok := cpuTime(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// RunLogBenchmarks measures one record, the one RunInvocationBenchmarks
// logs, through slog.JSONHandler on its own (handler=slog), through floor
// (handler=slog-options: the cloud's slog handler, with its ReplaceAttr,
// given the invocation's fields by WithAttrs, what any handler built on
// slog's pays), and through inv.Handler logged with an invocation's context
// (handler=name), all writing to io.Discard. The invocation's context is
// inv.Context's, with core.WithInvocation and a copy of inv.Metadata on
// top, as an adapter's invocation makes it (MeterProvider and Flush are not
// used). It is made once for handler=name, the cost of each record after
// the first; handler=name-first makes a new invocation for each record,
// and is the cost of an invocation's first record, which derives its
// handler, with the invocation's own making included.
func RunLogBenchmarks(b *testing.B, name string, inv Invocation, floor slog.Handler) {
	newInvocation := func(ctx context.Context) (context.Context, context.CancelFunc) {
		if inv.Context != nil {
			ctx = inv.Context(ctx)
		}
		md := inv.Metadata
		return core.WithInvocation(ctx, &md)
	}
	logRecord := func(log *slog.Logger, ctx context.Context) {
		log.InfoContext(ctx, "user created", slog.String("user_id", "u-17"), slog.Int("status", 201))
	}
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{{"slog", slog.NewJSONHandler(io.Discard, nil)}, {"slog-options", floor}} {
		b.Run("handler="+c.name, func(b *testing.B) {
			log := slog.New(c.h)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				logRecord(log, ctx)
			}
		})
	}
	b.Run("handler="+name, func(b *testing.B) {
		log := slog.New(inv.Handler)
		ctx, end := newInvocation(context.Background())
		defer end()
		logRecord(log, ctx)
		b.ReportAllocs()
		for b.Loop() {
			logRecord(log, ctx)
		}
	})
	b.Run("handler="+name+"-first", func(b *testing.B) {
		log := slog.New(inv.Handler)
		b.ReportAllocs()
		for b.Loop() {
			ctx, end := newInvocation(context.Background())
			logRecord(log, ctx)
			end()
		}
	})
}

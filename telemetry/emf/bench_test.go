package emf

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// BenchmarkStart is the start-up cost of the AWS build's metrics: the
// exporter, its SDK provider and the built-in instruments.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		e := New(io.Discard, "")
		if _, err := telemetry.NewMetrics(e.MeterProvider(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord is what the built-in metrics add to one invocation,
// without the flush: one handler run and the invocation's end.
func BenchmarkRecord(b *testing.B) {
	e := New(io.Discard, "")
	m, err := telemetry.NewMetrics(e.MeterProvider(), nil)
	if err != nil {
		b.Fatal(err)
	}
	inv := &core.Invocation{ID: "r", Function: "users"}
	ctx := context.Background()
	for b.Loop() {
		m.Handled(ctx, core.Handled{Kind: core.KindHTTP, Duration: time.Millisecond, Status: 200})
		m.Ended(ctx, inv)
	}
}

// BenchmarkRecordAndFlush adds the EMF flush at the end of the invocation.
func BenchmarkRecordAndFlush(b *testing.B) {
	e := New(io.Discard, "")
	m, err := telemetry.NewMetrics(e.MeterProvider(), nil)
	if err != nil {
		b.Fatal(err)
	}
	inv := &core.Invocation{ID: "r", Function: "users"}
	ctx, end := core.WithInvocation(context.Background(), inv)
	defer end()
	for b.Loop() {
		m.Handled(ctx, core.Handled{Kind: core.KindHTTP, Duration: time.Millisecond, Status: 200})
		if err := e.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogRecord is one record through a JSON handler with the
// invocation's fields, as the cloud handlers are (telemetry.LogHandler).
func BenchmarkLogRecord(b *testing.B) {
	h := telemetry.NewLogHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{ReplaceAttr: telemetry.RedactAttr}),
		&telemetry.LogOptions{Fields: telemetry.InvocationFields})
	log := slog.New(h)
	ctx, end := core.WithInvocation(telemetry.WithInvocationLog(context.Background()), &core.Invocation{ID: "r", Function: "users"})
	defer end()
	for b.Loop() {
		log.InfoContext(ctx, "user created", slog.String("user_id", "u-17"))
	}
}

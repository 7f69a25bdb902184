package jsonlog_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/jsonlog"
)

// BenchmarkHandler is BenchmarkSlogJSON (telemetry) through this
// handler: the invocation benchmarks' record with the AWS stamp's two
// attributes, plain and with telemetry.RedactAttr.
func BenchmarkHandler(b *testing.B) {
	for _, tc := range []struct {
		name    string
		replace func([]string, slog.Attr) slog.Attr
	}{
		{"plain", nil},
		{"redact", telemetry.RedactAttr},
	} {
		b.Run("handler="+tc.name, func(b *testing.B) {
			log := slog.New(jsonlog.New(io.Discard, &jsonlog.Options{ReplaceAttr: tc.replace}))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				log.InfoContext(ctx, "user created", slog.String("user_id", "u-17"), slog.Int("status", 201),
					slog.String("requestId", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"), slog.String("traceId", "1-5759e988-bd862e3fe1be46a994272793"))
			}
		})
	}
}

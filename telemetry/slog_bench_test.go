package telemetry

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkSlogJSON is what the log handlers' options cost slog: the
// record of the invocation benchmarks (telemetrytest), with Lambda's two
// invocation fields on it as attributes, through the standard library's
// JSON handler alone (plain), with a ReplaceAttr that changes nothing (slog
// then hands every attribute, the built-in ones included, through it), and
// with RedactAttr.
func BenchmarkSlogJSON(b *testing.B) {
	for _, tc := range []struct {
		name    string
		replace func([]string, slog.Attr) slog.Attr
	}{
		{"plain", nil},
		{"replace-noop", func(_ []string, a slog.Attr) slog.Attr { return a }},
		{"redact", RedactAttr},
	} {
		b.Run("handler="+tc.name, func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{ReplaceAttr: tc.replace}))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				log.InfoContext(ctx, "user created", slog.String("user_id", "u-17"), slog.Int("status", 201),
					slog.String("requestId", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"), slog.String("traceId", "1-5759e988-bd862e3fe1be46a994272793"))
			}
		})
	}
}

//go:build aws

package launch

import (
	"context"
	"log/slog"
	"os"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/polyfn/polyfn/telemetry/emf"
)

// startMetrics writes the metrics of each invocation to stdout at its end
// in CloudWatch's Embedded Metric Format, under the namespace
// POLYFN_METRICS_NAMESPACE (default "polyfn"). No connection is made:
// CloudWatch Logs extracts the metrics from the function's log stream.
func startMetrics(func() *resource.Resource, bool) (*exporter[metric.MeterProvider], error) {
	e := emf.New(os.Stdout, os.Getenv("POLYFN_METRICS_NAMESPACE"))
	return &exporter[metric.MeterProvider]{
		provider: e.MeterProvider(),
		flush: func(ctx context.Context) {
			if err := e.Flush(ctx); err != nil {
				slog.WarnContext(ctx, "launch: writing metrics", slog.Any("error", err))
			}
		},
	}, nil
}

// Lambda freezes the process once an invocation's reply is sent.
const flushEachInvocation = true

// platformResource reads what Lambda tells a function about itself.
func platformResource(getenv func(string) string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("cloud.provider", "aws"),
		attribute.String("cloud.platform", "aws_lambda"),
	}
	attrs = appendEnv(attrs, getenv, "cloud.region", "AWS_REGION")
	attrs = appendEnv(attrs, getenv, "faas.name", "AWS_LAMBDA_FUNCTION_NAME")
	attrs = appendEnv(attrs, getenv, "faas.version", "AWS_LAMBDA_FUNCTION_VERSION")
	attrs = appendEnv(attrs, getenv, "faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME")
	if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil {
		attrs = append(attrs, attribute.Int64("faas.max_memory", mb<<20))
	}
	return attrs
}

// Package telemetry is what every cloud's observability shares: the
// redaction of secrets from log records (RedactAttr), a slog handler that
// stamps records with fields computed from the invocation in the context
// (NewStampHandler), and the built-in metrics of every function (Metrics), a
// core.Observer that records OpenTelemetry instruments through any
// metric.MeterProvider.
//
// It imports only the OpenTelemetry metric API. The exporters, which need
// the SDK, are in sub-packages that only the builds using them link:
// telemetry/emf (CloudWatch Embedded Metric Format, AWS) and
// telemetry/prom (Prometheus text, the local runtime).
package telemetry

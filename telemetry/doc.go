// Package telemetry is what every cloud's observability shares: the
// redaction of secrets from log records (RedactAttr), the process's log
// handler, which writes each invocation's records through a handler that
// slog.Handler.WithAttrs derived with the invocation's fields once per
// invocation (LogHandler, WithInvocationLog), and the built-in metrics of
// every function (Metrics), a core.Observer that records OpenTelemetry
// instruments through any metric.MeterProvider.
//
// It imports only the OpenTelemetry metric and trace APIs. The exporters, which need
// the SDK, are in sub-packages that only the builds using them link:
// telemetry/emf (CloudWatch Embedded Metric Format, AWS) and
// telemetry/prom (Prometheus text, the local runtime).
package telemetry

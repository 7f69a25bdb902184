// Package gcpfunctions runs polyfn apps on Cloud Run functions (Cloud
// Functions 2nd gen) through the Functions Framework for Go
// (github.com/GoogleCloudPlatform/functions-framework-go).
//
// New builds the entry points of apps; Registration.Register starts the apps
// and registers the entry points with the framework, and Run does both and
// serves until its context ends. FUNCTION_TARGET picks the entry point an
// instance serves:
//
//   - an app's HTTP routes are one HTTP function named after the app; the
//     framework's *http.Request goes straight to the app's handler;
//   - each event function is an HTTP function named after itself, which
//     reads the request itself (the framework's CloudEvent functions are
//     not shown the request): binary- and structured-mode CloudEvents,
//     plain Pub/Sub push requests (keeping their subscription and delivery
//     attempt) and legacy background events; this package turns Cloud
//     Storage, Pub/Sub and Firestore events into neutral core.Events (see
//     docs/gcp.md for the mapping);
//   - a timer function is an HTTP function named after itself that takes
//     Cloud Scheduler firings through a Pub/Sub target (a CloudEvent) or an
//     HTTP target (X-CloudScheduler-* headers).
//
// An event function answers 200 when its handler succeeds. A failure is
// logged, and the error's code decides through one table (byCode) whether
// the sender redelivers the event (a non-2xx status) or it is acknowledged
// (202), so that a poison event cannot loop.
//
// Each invocation's core.Invocation carries the execution id
// (Function-Execution-Id) or the CloudEvent id, the request's trace from
// traceparent or X-Cloud-Trace-Context (for an event function too, whose
// event keeps the producer's trace from its traceparent extension), and
// the deadline of the invocation's own unit:
// its declared timeout (core.App.Size for the HTTP function,
// core.App.SizeFunc for an event function; 30 s by default), or Cloud Run's
// request timeout when that is earlier, which the framework puts on the
// request's context when CLOUD_RUN_TIMEOUT_SECONDS is set.
package gcpfunctions

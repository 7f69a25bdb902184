package gcpfunctions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// NewLogHandler returns a slog handler that writes one JSON object per line
// in the form Cloud Logging reads from a Cloud Run instance's standard
// error: the level as "severity" (DEBUG, INFO, WARNING, ERROR, CRITICAL), the
// message as "message", and every attribute in the entry's jsonPayload, with
// secrets redacted (telemetry.RedactAttr). A record logged with an
// invocation's context also carries the special fields that join it to the
// invocation: "logging.googleapis.com/trace" (projects/<project>/traces/<id>,
// the project from GOOGLE_CLOUD_PROJECT, GCP_PROJECT or GCLOUD_PROJECT; the
// bare trace id when none is set), "logging.googleapis.com/spanId" and
// "logging.googleapis.com/trace_sampled", the execution id in the entry's
// labels ("logging.googleapis.com/labels": {"execution_id": …}), and for an
// HTTP function the request in "httpRequest".
//
// It is slog.JSONHandler, with a handler per invocation (per span, when
// tracing is on) that carries those fields (telemetry.LogHandler).
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return newLogHandler(w, level, projectID(os.Getenv))
}

func newLogHandler(w io.Writer, level slog.Leveler, project string) slog.Handler {
	traces := ""
	if project != "" {
		traces = "projects/" + project + "/traces/"
	}
	return telemetry.NewLogHandler(newJSONHandler(w, level), &telemetry.LogOptions{
		Fields: func(ctx context.Context, inv *core.Invocation) []slog.Attr {
			return invocationFields(ctx, traces, inv)
		},
		BySpan: true,
	})
}

// newJSONHandler is the handler of records outside an invocation, from
// which each invocation's is derived.
func newJSONHandler(w io.Writer, level slog.Leveler) *slog.JSONHandler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceAttr})
}

// projectID is the project that trace ids are qualified with, from the
// environment: Cloud Run does not set it, so a deployment passes it; the
// metadata server is never asked, which would cost a network call at start.
func projectID(getenv func(string) string) string {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GCLOUD_PROJECT"} {
		if p := strings.TrimSpace(getenv(k)); p != "" {
			return p
		}
	}
	return ""
}

// The special fields of a structured log line
// (https://cloud.google.com/logging/docs/structured-logging).
const (
	traceField   = "logging.googleapis.com/trace"
	spanField    = "logging.googleapis.com/spanId"
	sampledField = "logging.googleapis.com/trace_sampled"
	labelsField  = "logging.googleapis.com/labels"
)

// invocationFields are the fields that join a record to its invocation
// (https://cloud.google.com/logging/docs/structured-logging): the trace
// (traces is the start of its name), the current span and whether it is
// sampled, the execution id and the function in the entry's labels, and for
// an HTTP function the request. The labels and httpRequest are groups,
// whose members slog writes in the order given, here encoding/json's order
// of a map's keys.
func invocationFields(ctx context.Context, traces string, inv *core.Invocation) []slog.Attr {
	attrs := make([]slog.Attr, 0, 5)
	if t := telemetry.LogTrace(ctx, inv); !t.IsZero() && t.Format != core.TraceXRay {
		attrs = append(attrs, slog.String(traceField, traces+t.TraceID))
		if span := spanHex(t); span != "" {
			attrs = append(attrs, slog.String(spanField, span))
		}
		attrs = append(attrs, slog.Bool(sampledField, t.Sampled))
	}
	attrs = append(attrs, slog.Attr{Key: labelsField, Value: slog.GroupValue(
		slog.String("execution_id", inv.ID), slog.String("function", inv.Function))})
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
		attrs = append(attrs, slog.Attr{Key: "httpRequest", Value: httpRequest(r)})
	}
	return attrs
}

// spanHex is the span id as Cloud Logging wants it, 16 hex digits:
// X-Cloud-Trace-Context gives it in decimal.
func spanHex(t core.Trace) string {
	if t.SpanID == "" || t.Format != core.TraceGCP {
		return t.SpanID
	}
	n, err := strconv.ParseUint(t.SpanID, 10, 64)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%016x", n)
}

type requestKey struct{}

// withRequest keeps the request of an HTTP function's invocation, for the
// httpRequest of its log lines.
func withRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// httpRequest is Cloud Logging's HttpRequest, as much of it as is known
// while the request is served: requestMethod, requestUrl and, when known,
// userAgent, remoteIp, referer and protocol. The values are the request's
// own, not what the function logged; the secrets of the URL's query are
// redacted.
func httpRequest(r *http.Request) slog.Value {
	scheme := "http"
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	} else if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: redactQuery(r.URL.RawQuery)}
	remote, _, _ := strings.Cut(r.Header.Get("X-Forwarded-For"), ",")
	remote = strings.TrimSpace(remote)
	if remote == "" {
		remote, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	attrs := make([]slog.Attr, 2, 6)
	attrs[0], attrs[1] = slog.String("requestMethod", r.Method), slog.String("requestUrl", u.String())
	for _, a := range [...]slog.Attr{
		slog.String("userAgent", r.UserAgent()), slog.String("remoteIp", remote),
		slog.String("referer", r.Referer()), slog.String("protocol", r.Proto),
	} {
		if a.Value.String() != "" {
			attrs = append(attrs, a)
		}
	}
	return slog.GroupValue(attrs...)
}

// redactQuery hides the values of sensitive query parameters (api_key,
// access_token); a query it cannot parse is left out.
func redactQuery(raw string) string {
	if raw == "" {
		return raw
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return ""
	}
	changed := false
	for k := range q {
		if telemetry.Sensitive(k) {
			q[k] = []string{telemetry.Redacted}
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return q.Encode()
}

// replaceAttr names the record's level and message as Cloud Logging does
// (and an attribute of the record's own named like one of them at the top
// level, which slog hands here too) and redacts secrets.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	return telemetry.RedactAttr(groups, cloudLoggingAttr(groups, a))
}

func cloudLoggingAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		if level, ok := a.Value.Any().(slog.Level); ok {
			return slog.String("severity", severity(level))
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// severity names a slog level with Cloud Logging's LogSeverity.
func severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	case l < slog.LevelError+4:
		return "ERROR"
	}
	return "CRITICAL"
}

// logLevel reads POLYFN_LOG_LEVEL (debug, info, warn, error; default info),
// as the launch package does.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(os.Getenv("POLYFN_LOG_LEVEL")))); err != nil {
		return slog.LevelInfo
	}
	return l
}

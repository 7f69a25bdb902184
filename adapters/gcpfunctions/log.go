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
	"github.com/polyfn/polyfn/telemetry/jsonlog"
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
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return newLogHandler(w, level, projectID(os.Getenv))
}

func newLogHandler(w io.Writer, level slog.Leveler, project string) slog.Handler {
	traces := newTracePrefix(project)
	return jsonlog.New(w, &jsonlog.Options{
		Level:       level,
		LevelKey:    "severity",
		LevelName:   severity,
		ReplaceAttr: replaceAttr,
		AppendContext: func(ctx context.Context, b []byte) []byte {
			return appendInvocation(ctx, traces, b)
		},
	})
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

// tracePrefix is the start of a trace field's value, encoded: the
// member's key and `"projects/<project>/traces/`, or the bare quote when
// there is no project.
type tracePrefix []byte

func newTracePrefix(project string) tracePrefix {
	b := []byte(`,"` + traceField + `":"`)
	if project != "" {
		b = append(b, "projects/"...)
		b = jsonlog.AppendEscaped(b, project)
		b = append(b, "/traces/"...)
	}
	return b
}

// appendInvocation writes the fields that join a record to its invocation
// (https://cloud.google.com/logging/docs/structured-logging): the trace,
// the current span and whether it is sampled, the execution id and the
// function in the entry's labels, and for an HTTP function the request.
// They are written directly, in the order and form slog wrote them as
// attributes (the labels and httpRequest as groups, which slog orders as
// encoding/json orders a map's keys).
func appendInvocation(ctx context.Context, traces tracePrefix, b []byte) []byte {
	inv, ok := core.InvocationFrom(ctx)
	if !ok {
		return b
	}
	if t := telemetry.LogTrace(ctx, inv); !t.IsZero() && t.Format != core.TraceXRay {
		b = append(b, traces...)
		b = jsonlog.AppendEscaped(b, t.TraceID)
		b = append(b, '"')
		if span := spanHex(t); span != "" {
			b = jsonlog.AppendMember(b, spanField, span)
		}
		b = append(b, `,"`+sampledField+`":`...)
		b = strconv.AppendBool(b, t.Sampled)
	}
	b = append(b, `,"`+labelsField+`":{"execution_id":`...)
	b = jsonlog.AppendString(b, inv.ID)
	b = jsonlog.AppendMember(b, "function", inv.Function)
	b = append(b, '}')
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
		b = appendHTTPRequest(b, r)
	}
	return b
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

// appendHTTPRequest writes Cloud Logging's HttpRequest, as much of it as is
// known while the request is served: requestMethod, requestUrl and, when
// known, userAgent, remoteIp, referer and protocol. The values are the
// request's own, not what the function logged, and are not redacted but
// for the secrets of the URL's query.
func appendHTTPRequest(b []byte, r *http.Request) []byte {
	scheme := "http"
	if p := header(r, "X-Forwarded-Proto"); p != "" {
		scheme = p
	} else if r.TLS != nil {
		scheme = "https"
	}
	remote, _, _ := strings.Cut(header(r, "X-Forwarded-For"), ",")
	remote = strings.TrimSpace(remote)
	if remote == "" {
		remote, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	b = append(b, `,"httpRequest":{"requestMethod":`...)
	b = jsonlog.AppendString(b, r.Method)
	b = append(b, `,"requestUrl":`...)
	b = appendRequestURL(b, scheme, r)
	for _, f := range [...]struct{ key, value string }{
		{"userAgent", header(r, "User-Agent")}, {"remoteIp", remote},
		{"referer", header(r, "Referer")}, {"protocol", r.Proto},
	} {
		if f.value != "" {
			b = jsonlog.AppendMember(b, f.key, f.value)
		}
	}
	return append(b, '}')
}

// header is r.Header.Get(key) for a key in canonical form, without
// canonicalising it again.
func header(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// appendRequestURL writes, as a JSON string, the URL the request was sent
// to: what url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath:
// r.URL.RawPath, RawQuery: the redacted query}.String() returns, built in
// place when the host needs no escaping, as a host almost never does.
func appendRequestURL(b []byte, scheme string, r *http.Request) []byte {
	query := redactQuery(r.URL.RawQuery)
	if !plainHost(r.Host) {
		u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: query}
		return jsonlog.AppendString(b, u.String())
	}
	path := r.URL.EscapedPath()
	b = append(b, '"')
	b = jsonlog.AppendEscaped(b, scheme)
	b = append(b, ':')
	if r.Host != "" || r.URL.Path != "" {
		b = append(b, '/', '/')
	}
	b = append(b, r.Host...)
	if path != "" && path[0] != '/' && r.Host != "" {
		b = append(b, '/')
	}
	b = jsonlog.AppendEscaped(b, path)
	if query != "" {
		b = append(b, '?')
		b = jsonlog.AppendEscaped(b, query)
	}
	return append(b, '"')
}

// plainHost reports whether url.URL.String writes host as it is and JSON
// needs no escape for it: letters, digits and "-._~:[]".
func plainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// redactQuery hides the values of sensitive query parameters (api_key,
// access_token).
func redactQuery(raw string) string {
	if raw == "" || !mayBeSensitive(raw) {
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

// mayBeSensitive reports whether redactQuery must parse raw: it has an
// escape or a ';' (which url.ParseQuery may reject), or a sensitive key.
// Most queries have neither, and are written as they came without parsing.
func mayBeSensitive(raw string) bool {
	if strings.ContainsAny(raw, "%;") {
		return true
	}
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		key, _, _ := strings.Cut(kv, "=")
		if strings.Contains(key, "+") { // a space, once unescaped
			key = strings.ReplaceAll(key, "+", " ")
		}
		if telemetry.Sensitive(key) {
			return true
		}
	}
	return false
}

// replaceAttr renames the message (and an attribute named like a built-in
// field at the top level, as slog.JSONHandler with cloudLoggingAttr did)
// and redacts secrets.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	return telemetry.RedactAttr(groups, cloudLoggingAttr(groups, a))
}

func cloudLoggingAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String("severity", severity(level))
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

package azurefunctions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polyfn/polyfn/core"
)

// httpTrigger is Data.req of a default-mode HTTP invocation
// (HttpRequestExtensions.GetRequestAsJObject). Params is not read: the
// app's routes derive path values from the path. Identities (the host's
// ClaimsIdentity list) is read, like the X-MS-CLIENT-PRINCIPAL header, only
// when App Service authentication is enabled (easyauth.go).
type httpTrigger struct {
	URL        string          `json:"Url"`
	Method     string          `json:"Method"`
	Query      json.RawMessage `json:"Query"`
	Headers    http.Header     `json:"Headers"` // names as the client sent them
	Identities json.RawMessage `json:"Identities"`
	Body       json.RawMessage `json:"Body"`
}

// httpInvocation is a default-mode request body for an HTTP function, with
// the trigger decoded in the same pass; Metadata only repeats it.
type httpInvocation struct {
	Data struct {
		Req *httpTrigger `json:"req"`
	}
}

// decodeHTTPTrigger decodes Data.req in the form the host sends. Anything
// else (another binding name, a header sent as one string) takes a second,
// lenient pass: most requests are decoded once.
func decodeHTTPTrigger(body []byte) (*httpTrigger, error) {
	var in httpInvocation
	if err := json.Unmarshal(body, &in); err == nil && in.Data.Req != nil {
		return in.Data.Req, nil
	}
	var generic struct{ Data map[string]json.RawMessage }
	if err := json.Unmarshal(body, &generic); err != nil {
		return nil, core.Errorf(core.InvalidArgument, "azurefunctions: malformed invocation request: %w", err)
	}
	raw, err := triggerData(generic.Data, BindingRequest)
	if err != nil {
		return nil, err
	}
	var t struct {
		httpTrigger
		Headers map[string]stringList `json:"Headers"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, core.Errorf(core.InvalidArgument, "azurefunctions: malformed HTTP trigger data: %w", err)
	}
	t.httpTrigger.Headers = make(http.Header, len(t.Headers))
	for k, vs := range t.Headers {
		t.httpTrigger.Headers[k] = vs
	}
	return &t.httpTrigger, nil
}

// triggerRequest rebuilds the client's request from the body of a
// default-mode HTTP invocation.
func (h *Handler) triggerRequest(ctx context.Context, body []byte) (*http.Request, error) {
	t, err := decodeHTTPTrigger(body)
	if err != nil {
		return nil, err
	}
	r, err := t.request(ctx, h.prefix)
	if err != nil || !h.easyAuth {
		return r, err
	}
	claims := clientPrincipalClaims(r.Header.Get(clientPrincipalHeader))
	if claims == nil {
		claims = identitiesClaims(t.Identities)
	}
	return r.WithContext(core.WithGatewayClaims(r.Context(), claims)), nil
}

// stringList is a header's values: the host sends an array; one string is
// accepted as a list of one.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if jsonKind(b) == '"' {
		s, err := decodeString(b)
		*l = stringList{s}
		return err
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// request rebuilds the client's request, with prefix removed from its path.
func (t *httpTrigger) request(ctx context.Context, prefix string) (*http.Request, error) {
	if t.Method == "" || strings.ContainsAny(t.Method, " \t\r\n/") {
		return nil, core.Errorf(core.InvalidArgument, "azurefunctions: HTTP trigger data has the method %q", t.Method)
	}
	u, err := url.Parse(t.URL)
	if err != nil || u.Path == "" && u.Host == "" {
		return nil, core.Errorf(core.InvalidArgument, "azurefunctions: HTTP trigger data has the URL %q", t.URL)
	}
	header := canonical(t.Headers)
	body, err := t.body(header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if u.RawQuery == "" {
		u.RawQuery = queryFromMap(t.Query)
	}
	host := header.Get("Host")
	if host == "" {
		host = u.Host
	}
	// The Url's path keeps the route prefix; the documentation's simplified
	// examples leave it out, so a path without it is taken as it is.
	if p, ok := cutPathPrefix(u.Path, prefix); ok && prefix != "" {
		u.Path = p
		u.RawPath, _ = cutPathPrefix(u.RawPath, prefix)
	}
	header.Del("Host")
	header.Del("Transfer-Encoding")
	r := &http.Request{
		Method:        t.Method,
		URL:           &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          host,
		RemoteAddr:    firstForwardedFor(header),
	}
	r.RequestURI = r.URL.RequestURI()
	return r.WithContext(ctx), nil
}

// canonical gives h's names their canonical form, in place: Kestrel keeps
// the client's spelling ("X-ARR-LOG-ID", "traceparent").
func canonical(h http.Header) http.Header {
	if h == nil {
		return http.Header{}
	}
	for k, vs := range h {
		if ck := textproto.CanonicalMIMEHeaderKey(k); ck != k {
			delete(h, k)
			h[ck] = append(h[ck], vs...)
		}
	}
	return h
}

// body decodes Body: the host sends it as text, in base64 only when the
// content type is application/octet-stream or multipart/*
// (Utility.IsMediaTypeOctetOrMultipart). It is absent when the request had
// no Content-Length.
func (t *httpTrigger) body(contentType string) ([]byte, error) {
	switch jsonKind(t.Body) {
	case 0, 'n':
		return nil, nil
	case '"':
		s, err := decodeString(t.Body)
		if err != nil {
			return nil, core.Errorf(core.InvalidArgument, "azurefunctions: malformed HTTP body: %w", err)
		}
		if !isOctetOrMultipart(contentType) {
			return []byte(s), nil
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, core.Errorf(core.InvalidArgument, "azurefunctions: the %s body is not base64: %w", contentType, err)
		}
		return b, nil
	}
	return bytes.TrimSpace(t.Body), nil // a JSON body sent as JSON
}

func isOctetOrMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(contentType)
	}
	return mt == "application/octet-stream" || strings.Contains(mt, "multipart/")
}

// queryFromMap encodes Query, an object or the JSON text of one ("{}" in
// the current documentation), when the Url carries no query. Its repeated
// keys are comma-joined already and stay so.
func queryFromMap(raw json.RawMessage) string {
	m, err := metaObject(raw)
	if err != nil || len(m) == 0 {
		return ""
	}
	q := url.Values{}
	for k, v := range m {
		if s, err := metaString(v); err == nil {
			q.Set(k, s)
		}
	}
	return q.Encode()
}

// firstForwardedFor is the client address App Service's front end puts
// first in X-Forwarded-For, as host:port.
func firstForwardedFor(h http.Header) string {
	v, _, _ := strings.Cut(h.Get("X-Forwarded-For"), ",")
	return strings.TrimSpace(v)
}

// httpOutput is the http output binding's value in Outputs
// (HttpOutputBindingResponse): the host writes statusCode, headers and body
// as they are, reading each header value as text and the body as text.
// Status repeats statusCode for the host versions that require both.
type httpOutput struct {
	StatusCode int               `json:"statusCode"`
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// invocationReply is the body of a default-mode reply (HttpScriptInvocationResult).
type invocationReply struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// serveHTTPFunction runs a default-mode HTTP invocation through the routes
// and returns the app's response in the http output binding. It is also
// the ReturnValue, for a function.json that names the output $return.
func (h *Handler) serveHTTPFunction(ctx context.Context, w http.ResponseWriter, fn function, body []byte, logs *logBuffer) {
	req, err := h.triggerRequest(ctx, body)
	if err != nil {
		h.reject(ctx, w, fn, err)
		return
	}
	rec := newResponseBuffer()
	h.routes.ServeHTTP(rec, req)
	out, err := rec.output()
	if err != nil {
		h.log.ErrorContext(ctx, "azurefunctions: HTTP response cannot be returned in default mode",
			slog.String("function", fn.name), slog.Any("error", err))
		rec = newResponseBuffer()
		core.WriteProblem(rec, core.ProblemFor(core.Errorf(core.Internal, "%w", err), req.URL.Path))
		out, _ = rec.output()
	}
	if cookies := rec.header.Values("Set-Cookie"); len(cookies) > 1 {
		for _, c := range cookies[1:] {
			h.log.WarnContext(ctx, "azurefunctions: default mode carries one Set-Cookie header; this one is dropped",
				slog.String("function", fn.name), slog.String("cookie", cookieName(c)))
		}
	}
	writeReply(w, http.StatusOK, invocationReply{
		Outputs:     map[string]any{BindingResponse: out},
		Logs:        logs.close(),
		ReturnValue: out,
	})
}

func cookieName(setCookie string) string {
	name, _, _ := strings.Cut(setCookie, "=")
	return strings.TrimSpace(name)
}

// writeReply writes a default-mode reply.
func writeReply(w http.ResponseWriter, status int, reply invocationReply) {
	b, err := json.Marshal(reply)
	if err != nil { // only strings and plain structs: never fails
		panic(fmt.Sprintf("azurefunctions: encoding a reply: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// responseBuffer records an HTTP response in memory, as the default mode
// must return it whole.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseBuffer() *responseBuffer { return &responseBuffer{header: http.Header{}} }

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(code int) {
	if b.status == 0 && code >= 200 { // informational responses are not sent on
		b.status = code
	}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.WriteHeader(http.StatusOK)
	}
	return b.body.Write(p)
}

// dropped are the response headers the host sets itself.
var dropped = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true}

// output is the response as the http output binding. Header values are
// joined with ", " (the host sends one value per name), except Set-Cookie,
// of which only the first survives. A body that is not UTF-8 cannot be sent
// as JSON text, and the host does not decode base64: that is an error.
func (b *responseBuffer) output() (httpOutput, error) {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	body := b.body.Bytes()
	if !utf8.Valid(body) {
		return httpOutput{}, fmt.Errorf("azurefunctions: the response body (%d bytes, %s) is not UTF-8 text; binary bodies need enableProxyingHttpRequest", len(body), b.header.Get("Content-Type"))
	}
	if len(body) > 0 && b.header.Get("Content-Type") == "" {
		b.header.Set("Content-Type", http.DetectContentType(body)) // as net/http would
	}
	headers := make(map[string]string, len(b.header))
	for k, vs := range b.header {
		switch {
		case dropped[k] || len(vs) == 0:
		case k == "Set-Cookie":
			headers[k] = vs[0]
		default:
			headers[k] = strings.Join(vs, ", ")
		}
	}
	return httpOutput{StatusCode: status, Status: status, Headers: headers, Body: string(body)}, nil
}

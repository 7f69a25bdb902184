package awslambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/polyfn/polyfn/core"
)

// serveHTTP serves an HTTP-shaped payload with the app's handler and encodes
// the response in the shape the request came in.
func (h *Handler) serveHTTP(ctx context.Context, p *payload, s shape) ([]byte, error) {
	r, err := p.request(ctx, s)
	if err != nil {
		return nil, err
	}
	w := getWriter()
	defer putWriter(w)
	h.http.ServeHTTP(w, r)
	return w.reply(s, s == shapeALB && p.MultiValueHeaders != nil)
}

// request builds the *http.Request of an HTTP payload.
func (p *payload) request(ctx context.Context, s shape) (*http.Request, error) {
	body, n, err := p.body()
	if err != nil {
		return nil, err
	}
	r := &http.Request{
		Method:        p.HTTPMethod,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        p.header(),
		Body:          body,
		ContentLength: n,
		URL:           &url.URL{},
	}
	rc := p.RequestContext
	switch s {
	case shapeAPIGatewayV2, shapeFunctionURL:
		r.Method = rc.HTTP.Method
		if major, minor, ok := http.ParseHTTPVersion(rc.HTTP.Protocol); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = rc.HTTP.Protocol, major, minor
		}
		setPath(r.URL, stripStage(p.RawPath, rc.Stage))
		r.URL.RawQuery = p.RawQueryString
		r.RemoteAddr = hostPort(rc.HTTP.SourceIP)
	case shapeAPIGatewayV1:
		setPath(r.URL, p.Path)
		r.URL.RawQuery = p.v1Query()
		r.RemoteAddr = hostPort(rc.Identity.SourceIP)
	case shapeALB:
		setPath(r.URL, p.Path)
		r.URL.RawQuery = p.albQuery()
		r.RemoteAddr = hostPort(lastForwardedFor(r.Header))
	}
	if r.Method == "" {
		return nil, core.Errorf(core.InvalidArgument, "awslambda: the %s request has no method", s)
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = rc.DomainName
	}
	r.Header.Del("Host") // net/http servers move Host out of the header too
	r.RequestURI = r.URL.RequestURI()
	if claims := rc.gatewayClaims(s); claims != nil {
		ctx = core.WithGatewayClaims(ctx, claims)
	}
	return r.WithContext(ctx), nil
}

// body returns the request body and its length.
func (p *payload) body() (io.ReadCloser, int64, error) {
	switch {
	case p.Body == "":
		return http.NoBody, 0, nil
	case !p.IsBase64Encoded:
		return io.NopCloser(strings.NewReader(p.Body)), int64(len(p.Body)), nil
	}
	b, err := base64.StdEncoding.DecodeString(p.Body)
	if err != nil {
		return nil, 0, core.Errorf(core.InvalidArgument, "awslambda: isBase64Encoded is true but the body is not base64: %v", err)
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// header builds the request header. Multi-value headers win where the
// platform sends both (REST APIs do); HTTP API cookies, which the platform
// moves out of the header, go back into one Cookie header.
func (p *payload) header() http.Header {
	h := make(http.Header, len(p.Headers)+len(p.MultiValueHeaders)+1)
	if p.MultiValueHeaders != nil {
		for k, vs := range p.MultiValueHeaders {
			k = textproto.CanonicalMIMEHeaderKey(k)
			h[k] = append(h[k], vs...)
		}
	} else {
		// One backing array for every value, as net/textproto does.
		vals := make([]string, 0, len(p.Headers))
		for k, v := range p.Headers {
			k = textproto.CanonicalMIMEHeaderKey(k)
			if old, ok := h[k]; ok { // "Accept" and "accept" in one map
				h[k] = append(old, v)
				continue
			}
			vals = append(vals, v)
			h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	if len(p.Cookies) > 0 {
		h["Cookie"] = []string{strings.Join(p.Cookies, "; ")}
	}
	return h
}

// setPath sets a path that arrives percent-encoded (as clients send it),
// keeping the encoded form so that an escaped "/" stays part of a segment.
func setPath(u *url.URL, p string) {
	if p == "" {
		p = "/"
	}
	if strings.IndexByte(p, '%') >= 0 {
		if dec, err := url.PathUnescape(p); err == nil {
			u.Path, u.RawPath = dec, p
			return
		}
	}
	u.Path = p
}

// stripStage removes a named stage from an HTTP API path: rawPath includes
// it ("/prod/users/1") while the routes the app declares do not.
func stripStage(p, stage string) string {
	if stage == "" || stage == "$default" {
		return p
	}
	if rest, ok := strings.CutPrefix(p, "/"+stage); ok && (rest == "" || rest[0] == '/') {
		return rest
	}
	return p
}

// v1Query encodes a REST API's query: its values arrive decoded.
func (p *payload) v1Query() string {
	if p.MultiValueQuery != nil {
		return url.Values(p.MultiValueQuery).Encode()
	}
	v := make(url.Values, len(p.Query))
	for k, s := range p.Query {
		v[k] = []string{s}
	}
	return v.Encode()
}

// albQuery joins an ALB's query: ALB does not decode it, so keys and values
// are still as the client encoded them.
func (p *payload) albQuery() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if p.MultiValueQuery != nil {
		for _, k := range sortedKeys(p.MultiValueQuery) {
			for _, v := range p.MultiValueQuery[k] {
				add(k, v)
			}
		}
		return b.String()
	}
	for _, k := range sortedKeys(p.Query) {
		add(k, p.Query[k])
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// lastForwardedFor returns the address an ALB appended to X-Forwarded-For:
// the client as the load balancer saw it.
func lastForwardedFor(h http.Header) string {
	vs := h.Values("X-Forwarded-For")
	if len(vs) == 0 {
		return ""
	}
	last := vs[len(vs)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// hostPort gives RemoteAddr its usual host:port form; the platform does not
// pass the client's port.
func hostPort(ip string) string {
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, "0")
}

// responseWriter buffers a response in memory: a Lambda reply is one JSON
// document, written once the handler returns.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

var writers = sync.Pool{New: func() any { return new(responseWriter) }}

func getWriter() *responseWriter {
	w := writers.Get().(*responseWriter)
	w.header = make(http.Header)
	return w
}

// putWriter returns w to the pool unless its buffer grew large, so that one
// big response does not pin its memory for the process's life.
func putWriter(w *responseWriter) {
	if w.body.Cap() > 64<<10 {
		return
	}
	w.header, w.status = nil, 0
	w.body.Reset()
	writers.Put(w)
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	// As net/http does: 1xx responses other than 101 are interim, and only
	// the first final status counts.
	if w.status != 0 || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		return
	}
	w.status = code
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

// Flush is a no-op: the reply is sent whole when the handler returns. It lets
// handlers that flush run unchanged.
func (w *responseWriter) Flush() {}

// replyV2 is the response of an HTTP API (payload 2.0) or function URL.
type replyV2 struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Cookies         []string          `json:"cookies,omitempty"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// replyV1 is the response of a REST API (payload 1.0) or an ALB.
type replyV1 struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription,omitempty"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// reply encodes the buffered response for shape s. multiValue is true for an
// ALB whose target group has multi-value headers on, which then must answer
// with multiValueHeaders (and only then).
func (w *responseWriter) reply(s shape, multiValue bool) ([]byte, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	body := w.body.Bytes()
	if len(body) > 0 && !hasContentType(w.header) {
		// What a net/http server does for a handler that sets no type.
		w.header.Set("Content-Type", http.DetectContentType(body))
	}
	text, b64 := encodeBody(body, w.header.Get("Content-Type"))
	switch s {
	case shapeAPIGatewayV2, shapeFunctionURL:
		cookies := w.header["Set-Cookie"]
		delete(w.header, "Set-Cookie")
		return json.Marshal(replyV2{
			StatusCode: w.status, Headers: joinHeader(w.header), Cookies: cookies,
			Body: text, IsBase64Encoded: b64,
		})
	case shapeALB:
		r := replyV1{StatusCode: w.status, StatusDescription: statusLine(w.status), Body: text, IsBase64Encoded: b64}
		if multiValue {
			r.MultiValueHeaders = w.header
		} else {
			r.Headers = lastHeader(w.header)
		}
		return json.Marshal(r)
	}
	// REST APIs accept multiValueHeaders for every header, Set-Cookie included.
	return json.Marshal(replyV1{StatusCode: w.status, MultiValueHeaders: w.header, Body: text, IsBase64Encoded: b64})
}

func hasContentType(h http.Header) bool {
	_, ok := h["Content-Type"] // present but nil means "send none", as in net/http
	return ok
}

// encodeBody returns the body as a JSON string: as is when it is text,
// base64 otherwise. A JSON string can only carry valid UTF-8, and the
// platforms decode base64 bodies back to bytes (REST APIs only for the media
// types listed in the API's binaryMediaTypes).
func encodeBody(body []byte, contentType string) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if isText(contentType) && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// isText reports whether a media type is textual.
func isText(contentType string) bool {
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript",
		"application/x-www-form-urlencoded", "application/graphql", "application/yaml":
		return true
	}
	return false
}

// joinHeader flattens a header for the HTTP API's single-value map, joining
// repeated values with commas as HTTP allows (Set-Cookie travels apart).
func joinHeader(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, vs := range h {
		m[k] = strings.Join(vs, ",")
	}
	return m
}

// lastHeader flattens a header for an ALB in single-value mode, which has
// room for one value per name: the last, as the ALB does for requests. Only
// repeated Set-Cookie headers lose values this way; multi-value mode keeps
// them.
func lastHeader(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			m[k] = vs[len(vs)-1]
			continue
		}
		m[k] = strings.Join(vs, ",")
	}
	return m
}

func statusLine(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

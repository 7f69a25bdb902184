package runtimeapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// InvokeMode is how a function URL invokes its function
// (https://docs.aws.amazon.com/lambda/latest/dg/config-rs-invoke-furls.html).
type InvokeMode string

// The invoke modes.
const (
	// Buffered invokes with Invoke and answers once the function returned:
	// the reply's statusCode, headers, cookies and body.
	Buffered InvokeMode = "BUFFERED"
	// ResponseStream invokes with InvokeWithResponseStream and passes the
	// response on as the runtime sends it.
	ResponseStream InvokeMode = "RESPONSE_STREAM"
)

// httpIntegrationResponse is the content type of a streamed HTTP
// response: a JSON prelude (statusCode, headers, cookies), eight null
// bytes, then the body.
const httpIntegrationResponse = "application/vnd.awslambda.http-integration-response"

// maxPrelude bounds the prelude a function URL reads before the body.
const maxPrelude = 64 << 10

// FunctionURL returns an http.Handler that plays the function's URL in
// mode, public (AuthType NONE): each request reaches the function as a
// function URL's payload 2.0 event
// (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html):
// header names in lower case, repeated values joined with commas, cookies
// in cookies[], a body that is not text in base64. In Buffered mode the
// reply is decoded as a function URL does (a reply that is not such a
// response is the JSON body of a 200); in ResponseStream mode a response of
// the HTTP integration type is read as a prelude and a body, which goes to
// the client as it arrives, and any other response is the body of a 200.
// A function error answers 502 with {"Message":"Internal Server Error"}.
func (s *Server) FunctionURL(mode InvokeMode) http.Handler {
	return &functionURL{s: s, mode: mode}
}

type functionURL struct {
	s    *Server
	mode InvokeMode
}

func (f *functionURL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	payload, err := f.event(r)
	if err != nil {
		urlError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	if f.mode != ResponseStream {
		resp, err := f.s.Invoke(r.Context(), payload)
		if err != nil {
			return // the client left, or the server closed
		}
		if resp.FunctionError != "" {
			urlError(w, http.StatusBadGateway, "Internal Server Error")
			return
		}
		writeBuffered(w, resp.Payload)
		return
	}
	st, err := f.s.InvokeStream(r.Context(), payload)
	if err != nil {
		return
	}
	defer st.Body.Close()
	if st.FunctionError != "" {
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	br := bufio.NewReader(st.Body)
	if st.ContentType == httpIntegrationResponse {
		p, err := readPrelude(br)
		if p.StatusCode == 0 {
			p.StatusCode = http.StatusOK
		}
		if err != nil || !validStatus(p.StatusCode) {
			urlError(w, http.StatusBadGateway, "Internal Server Error")
			return
		}
		h := w.Header()
		for k, v := range p.Headers {
			h.Set(k, v)
		}
		for _, c := range p.Cookies {
			h.Add("Set-Cookie", c)
		}
		w.WriteHeader(p.StatusCode)
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
	}
	flushCopy(w, br)
}

// prelude is the head of a streamed HTTP response.
type prelude struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Cookies    []string          `json:"cookies"`
}

var nulls = make([]byte, 8)

// readPrelude reads the prelude and the eight null bytes that end it.
func readPrelude(br *bufio.Reader) (prelude, error) {
	var b []byte
	for !bytes.HasSuffix(b, nulls) {
		if len(b) > maxPrelude {
			return prelude{}, errors.New("runtimeapi: no prelude in the response's first 64 KB")
		}
		c, err := br.ReadByte()
		if err != nil {
			return prelude{}, err
		}
		b = append(b, c)
	}
	var p prelude
	err := json.Unmarshal(b[:len(b)-len(nulls)], &p)
	return p, err
}

// flushCopy copies the body to the client, flushing what each read
// returns. A stream that fails half-way is cut, as Lambda cuts it.
func flushCopy(w http.ResponseWriter, r io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			panic(http.ErrAbortHandler) // the client sees a broken response
		}
	}
}

// writeBuffered answers with a buffered reply, decoded as a function URL
// does.
func writeBuffered(w http.ResponseWriter, reply []byte) {
	var r struct {
		StatusCode      *int              `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(reply, &r); err != nil || r.StatusCode == nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
		return
	}
	if !validStatus(*r.StatusCode) {
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			urlError(w, http.StatusBadGateway, "Internal Server Error")
			return
		}
	}
	for k, v := range r.Headers {
		w.Header().Set(k, v)
	}
	for _, c := range r.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.WriteHeader(*r.StatusCode)
	_, _ = w.Write(body)
}

// validStatus reports whether a function's status is one an HTTP response
// can carry; a function URL answers 502 for another.
func validStatus(code int) bool { return code >= 200 && code <= 599 }

func urlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Message": msg})
	_, _ = w.Write(b)
}

// urlID names the local function URL, whose domain is
// <url-id>.lambda-url.<region>.on.aws as on Lambda: the adapter tells a
// function URL's request from an HTTP API's by it.
const urlID = "local0000000000000000000000000000"

// event encodes r as a function URL's request event.
func (f *functionURL) event(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil || len(body) > MaxPayload {
		return nil, errors.New("runtimeapi: the request body is over 6 MB")
	}
	domain := urlID + ".lambda-url." + f.s.opts.Region + ".on.aws"
	headers := map[string]string{"host": domain, "x-forwarded-proto": "https", "x-forwarded-port": "443"}
	var cookies []string
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				cookies = append(cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	headers["x-forwarded-for"] = ip
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	now := time.Now()
	ev := map[string]any{
		"version": "2.0", "routeKey": "$default",
		"rawPath": r.URL.EscapedPath(), "rawQueryString": r.URL.RawQuery,
		"headers": headers,
		"requestContext": map[string]any{
			"accountId": "anonymous", "apiId": urlID, "domainName": domain, "domainPrefix": urlID,
			"http": map[string]string{
				"method": r.Method, "path": r.URL.Path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": r.UserAgent(),
			},
			"requestId": newRequestID(), "routeKey": "$default", "stage": "$default",
			"time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	if len(cookies) > 0 {
		ev["cookies"] = cookies
	}
	if query != nil {
		ev["queryStringParameters"] = query
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev["body"] = string(body)
		} else {
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return json.Marshal(ev)
}

// isText reports whether a function URL passes a body of this type as
// text rather than base64.
func isText(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || strings.HasSuffix(mt, "+xml") || mt == "application/x-www-form-urlencoded" ||
		mt == "application/javascript"
}

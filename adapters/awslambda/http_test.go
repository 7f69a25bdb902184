package awslambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

// httpReply is the union of the HTTP shapes' replies.
type httpReply struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func (r httpReply) body(t *testing.T) []byte {
	t.Helper()
	if !r.IsBase64Encoded {
		return []byte(r.Body)
	}
	b, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		t.Fatalf("reply body is not base64: %v", err)
	}
	return b
}

func invokeHTTP(t *testing.T, h *Handler, payload []byte) httpReply {
	t.Helper()
	out, err := h.Invoke(lambdaContext(t, time.Now().Add(time.Minute)), payload)
	if err != nil {
		t.Fatal(err)
	}
	var r httpReply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("reply %s: %v", out, err)
	}
	return r
}

// TestHTTPRequests checks what the handler sees of each HTTP shape.
func TestHTTPRequests(t *testing.T) {
	h, _ := newTestHandler(t)
	tests := []struct {
		file  string
		check func(t *testing.T, e echo)
	}{
		{"apigw-v2-post.json", func(t *testing.T, e echo) {
			want := echo{
				Method: "POST", Path: "/echo/a/b/c", EscapedPath: "/echo/a%2Fb/c", RawQuery: "tag=a&tag=b&q=red%20flower",
				Host: "r3pmxmplak.execute-api.us-east-2.amazonaws.com", RemoteAddr: "205.255.255.176:0", Proto: "HTTP/1.1",
				RequestURI: "/echo/a%2Fb/c?tag=a&tag=b&q=red%20flower", Rest: "a/b/c",
				Body: []byte(`{"name":"Ada","n":"é"}`), ContentLength: 23,
			}
			got := e
			got.Query, got.Header, got.Invocation = nil, nil, want.Invocation
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
			if q := e.Query; !cmp.Equal(q["tag"], []string{"a", "b"}) || q.Get("q") != "red flower" {
				t.Errorf("query: got %v, want tag=[a b] and q=red flower from rawQueryString", q)
			}
			if got := e.Header.Get("Cookie"); got != "session=abc123; theme=dark" {
				t.Errorf("Cookie: got %q, want the cookies joined", got)
			}
			if got := e.Header.Values("X-Multi"); !cmp.Equal(got, []string{"one,two"}) {
				t.Errorf("X-Multi: got %q, want the platform's comma-joined value", got)
			}
			if _, ok := e.Header["Host"]; ok {
				t.Error("Host stayed in the header; net/http moves it to Request.Host")
			}
		}},
		{"apigw-v2-binary.json", func(t *testing.T, e echo) {
			if e.Method != "PUT" || e.Path != "/echo/upload.png" {
				t.Errorf("got %s %s, want PUT /echo/upload.png with the stage removed", e.Method, e.Path)
			}
			if !bytes.Equal(e.Body, pngBytes) || e.ContentLength != int64(len(pngBytes)) {
				t.Errorf("body: got %x (length %d), want the decoded %x", e.Body, e.ContentLength, pngBytes)
			}
			if e.RemoteAddr != "[2001:db8::1]:0" {
				t.Errorf("RemoteAddr: got %q", e.RemoteAddr)
			}
		}},
		{"function-url.json", func(t *testing.T, e echo) {
			if e.Method != "GET" || e.Path != "/echo/url" || e.RawQuery != "parameter1=value1&parameter1=value2&parameter2=value" {
				t.Errorf("got %s %s?%s", e.Method, e.Path, e.RawQuery)
			}
			if e.Host != "abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-west-2.on.aws" {
				t.Errorf("Host: got %q, want the URL's domain", e.Host)
			}
			if len(e.Body) != 0 || e.ContentLength != 0 {
				t.Errorf("body: got %q (length %d), want none", e.Body, e.ContentLength)
			}
		}},
		{"apigw-v1-rest.json", func(t *testing.T, e echo) {
			if e.Path != "/echo/items" {
				t.Errorf("path: got %q, want /echo/items (no stage)", e.Path)
			}
			if got := e.Query["color"]; !cmp.Equal(got, []string{"red", "blue"}) {
				t.Errorf("color: got %q, want both values from the multi-value map", got)
			}
			if got := e.Query.Get("q"); got != "a+b&c" {
				t.Errorf("q: got %q, want the decoded value re-encoded faithfully", got)
			}
			if got := e.Header.Values("X-Multi"); !cmp.Equal(got, []string{"one", "two"}) {
				t.Errorf("X-Multi: got %q, want both values", got)
			}
			if string(e.Body) != "héllo, wörld" || e.RemoteAddr != "192.0.2.44:0" {
				t.Errorf("body %q, remote %q", e.Body, e.RemoteAddr)
			}
		}},
		{"apigw-v1-null-maps.json", func(t *testing.T, e echo) {
			if e.Method != "GET" || e.Path != "/echo" || e.RawQuery != "" || len(e.Body) != 0 {
				t.Errorf("got %s %s?%s body %q", e.Method, e.Path, e.RawQuery, e.Body)
			}
			if e.Host != "testPrefix.testDomainName" {
				t.Errorf("Host: got %q, want the request context's domain", e.Host)
			}
		}},
		{"alb-single.json", func(t *testing.T, e echo) {
			if e.RawQuery != "q=red%20flower&x=1%2B1" {
				t.Errorf("raw query: got %q, want the values as the client encoded them", e.RawQuery)
			}
			if e.Query.Get("q") != "red flower" || e.Query.Get("x") != "1+1" {
				t.Errorf("query: got %v, want q=red flower, x=1+1", e.Query)
			}
			if e.RemoteAddr != "72.12.164.125:0" {
				t.Errorf("RemoteAddr: got %q, want X-Forwarded-For's last address", e.RemoteAddr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := invokeHTTP(t, h, readTestdata(t, tt.file))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", r.StatusCode, r.Body)
			}
			var e echo
			if err := json.Unmarshal(r.body(t), &e); err != nil {
				t.Fatal(err)
			}
			if e.Invocation.ID != "8476a536-e9f4-11e8-9739-2dfe598c3fcd" || e.Invocation.Cloud != "aws" {
				t.Errorf("invocation: got %+v, want the Lambda request id and cloud aws", e.Invocation)
			}
			tt.check(t, e)
		})
	}
}

// request returns a GET (or DELETE) payload for path in the shape of file.
func request(t *testing.T, file, method, path string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(t, file), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["rawPath"]; ok {
		m["rawPath"] = path
		m["rawQueryString"] = ""
		m["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = method
		m["requestContext"].(map[string]any)["stage"] = "$default"
	} else {
		m["path"] = path
		m["httpMethod"] = method
	}
	delete(m, "body")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHTTPReplies checks that each reply shape carries the response intact.
func TestHTTPReplies(t *testing.T) {
	h, _ := newTestHandler(t)
	t.Run("binary body is base64", func(t *testing.T) {
		for _, file := range []string{"apigw-v2-post.json", "apigw-v1-rest.json", "alb-single.json", "function-url.json"} {
			r := invokeHTTP(t, h, request(t, file, "GET", "/png"))
			if !r.IsBase64Encoded || !bytes.Equal(r.body(t), pngBytes) {
				t.Errorf("%s: got base64 %v, body %q; want the PNG base64-encoded", file, r.IsBase64Encoded, r.Body)
			}
		}
	})
	t.Run("text body is not base64", func(t *testing.T) {
		r := invokeHTTP(t, h, readTestdata(t, "apigw-v2-post.json"))
		if r.IsBase64Encoded || !json.Valid([]byte(r.Body)) {
			t.Errorf("got base64 %v, body %q; want plain JSON", r.IsBase64Encoded, r.Body)
		}
		if got := r.Headers["Content-Type"]; got != "application/json" {
			t.Errorf("Content-Type: got %q", got)
		}
	})
	t.Run("empty body", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "apigw-v2-post.json", "DELETE", "/empty"))
		if r.StatusCode != http.StatusNoContent || r.Body != "" || r.IsBase64Encoded {
			t.Errorf("got %d %q base64 %v, want 204 with no body", r.StatusCode, r.Body, r.IsBase64Encoded)
		}
	})
	t.Run("HTTP API cookies and joined headers", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "apigw-v2-post.json", "GET", "/cookies"))
		if want := []string{"a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"}; !cmp.Equal(r.Cookies, want) {
			t.Errorf("cookies: got %q, want %q", r.Cookies, want)
		}
		if _, ok := r.Headers["Set-Cookie"]; ok {
			t.Error("Set-Cookie is in headers as well as in cookies")
		}
		if got := r.Headers["X-Multi"]; got != "one,two" {
			t.Errorf("X-Multi: got %q, want one,two", got)
		}
	})
	t.Run("REST multi-value headers", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "apigw-v1-rest.json", "GET", "/cookies"))
		if got := r.MultiValueHeaders["Set-Cookie"]; len(got) != 2 {
			t.Errorf("Set-Cookie: got %q, want both", got)
		}
		if got := r.MultiValueHeaders["X-Multi"]; !cmp.Equal(got, []string{"one", "two"}) {
			t.Errorf("X-Multi: got %q", got)
		}
	})
	t.Run("ALB multi-value mode answers in kind", func(t *testing.T) {
		r := invokeHTTP(t, h, readTestdata(t, "alb-multi.json"))
		if r.Headers != nil || len(r.MultiValueHeaders["Set-Cookie"]) != 2 {
			t.Errorf("got headers %v, multi-value %v; want multiValueHeaders only", r.Headers, r.MultiValueHeaders)
		}
		if r.StatusDescription != "200 OK" {
			t.Errorf("statusDescription: got %q", r.StatusDescription)
		}
	})
	t.Run("ALB single-value mode answers in kind", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "alb-single.json", "GET", "/cookies"))
		if r.MultiValueHeaders != nil || r.Headers["Set-Cookie"] != "b=2" || r.Headers["X-Multi"] != "one,two" {
			t.Errorf("got headers %v, multi-value %v; want single values", r.Headers, r.MultiValueHeaders)
		}
	})
	t.Run("unknown route is a problem 404", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "apigw-v2-post.json", "GET", "/nowhere"))
		if r.StatusCode != http.StatusNotFound || r.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("got %d %v", r.StatusCode, r.Headers)
		}
	})
	t.Run("panic is a generic 500 and the next request works", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "apigw-v2-post.json", "GET", "/panic"))
		if r.StatusCode != http.StatusInternalServerError || strings.Contains(r.Body, "boom") {
			t.Errorf("got %d %q, want a generic 500", r.StatusCode, r.Body)
		}
		if r := invokeHTTP(t, h, request(t, "apigw-v2-post.json", "GET", "/png")); r.StatusCode != http.StatusOK {
			t.Errorf("after the panic: got %d", r.StatusCode)
		}
	})
	t.Run("raw event through As", func(t *testing.T) {
		r := invokeHTTP(t, h, request(t, "apigw-v2-post.json", "GET", "/raw"))
		if r.StatusCode != http.StatusOK || r.Body != "user-7" {
			t.Errorf("got %d %q, want the authorizer's sub claim", r.StatusCode, r.Body)
		}
	})
}

func TestInvocationMetadata(t *testing.T) {
	h, _ := newTestHandler(t)
	// Sooner than the routes' 30 s timeout: Lambda's deadline holds.
	deadline := time.Now().Add(10 * time.Second).Truncate(time.Millisecond)
	invocation := func() core.Invocation {
		t.Helper()
		out, err := h.Invoke(lambdaContext(t, deadline), readTestdata(t, "function-url.json"))
		if err != nil {
			t.Fatal(err)
		}
		var r events.APIGatewayV2HTTPResponse
		var e echo
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
			t.Fatal(err)
		}
		return e.Invocation
	}
	inv := invocation()
	if inv.ID != "8476a536-e9f4-11e8-9739-2dfe598c3fcd" || inv.Function != "test" || inv.Cloud != core.CloudAWS {
		t.Errorf("got %+v", inv)
	}
	if want := deadline.Add(-defaultReplyMargin); !inv.Deadline.Equal(want) {
		t.Errorf("deadline: got %v, want Lambda's less the reply margin, %v", inv.Deadline, want)
	}
	want := core.Trace{
		Format: core.TraceXRay, TraceID: "1-5bef4de7-ad49b0e87f6ef6c87fc2e700", SpanID: "9a9197af755a6419", Sampled: true,
		Raw: "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
	}
	if inv.Trace != want {
		t.Errorf("trace: got %+v, want %+v", inv.Trace, want)
	}
	// Whether the first was the process's first invocation depends on the
	// tests run before it; the one after it never is.
	if invocation().ColdStart {
		t.Error("the second invocation is a cold start")
	}
}

func TestParseXRay(t *testing.T) {
	tests := []struct {
		raw  string
		want string // TraceID
	}{
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5", "1-5759e988-bd862e3fe1be46a994272793"},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793"},
		{"", ""},
		{"Parent=53995c3f42cd8ad8", ""},
	}
	for _, tt := range tests {
		got := parseXRay(tt.raw)
		if got.TraceID != tt.want {
			t.Errorf("%q: trace id %q, want %q", tt.raw, got.TraceID, tt.want)
		}
		if tt.want != "" && (got.Format != "xray" || got.Raw != tt.raw) {
			t.Errorf("%q: got %+v", tt.raw, got)
		}
	}
}

package azurefunctions_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

// echoFunction is the Azure function name of the test app's echo route.
const echoFunction = "any-echo-rest"

// TestHTTPPayloadForms sends the captured and documented default-mode HTTP
// payloads and checks the request the route receives.
func TestHTTPPayloadForms(t *testing.T) {
	tests := []struct {
		file string
		want echoed
	}{
		{"http-octet.json", echoed{Method: "POST", Path: "/echo/payload/octaToByte", RawQuery: "",
			Host: "bal-dev.azurewebsites.net", Remote: "112.134.128.183:8622", Body: []byte("hello from byte arr\n")}},
		{"http-query.json", echoed{Method: "GET", Path: "/echo/query/arr", RawQuery: "name=red&name=green&x=a%2Cb",
			Query: map[string][]string{"name": {"red", "green"}, "x": {"a,b"}}, Host: "localhost:7071"}},
		{"http-json.json", echoed{Method: "POST", Path: "/echo/users", Host: "bal-dev.azurewebsites.net",
			Remote: "112.134.131.214:19414", Body: []byte("{\n    \"name\" : \"Anjana\",\n    \"age\" : 12\n}")}},
		{"http-docs.json", echoed{Method: "GET", Path: "/echo/hello", Host: "localhost:7071"}},
	}
	host, _ := inProcess(t, nil)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "invocations", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := host.Send(t.Context(), echoFunction, body, "")
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("Send: %v, %+v", err, res)
			}
			out, err := res.HTTPOutput(azurefunctions.BindingResponse)
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != http.StatusOK || out.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("response %d %v: %s", out.StatusCode, out.Header, out.Body)
			}
			got := decodeEcho(t, out.Body)
			if got.Invocation == nil || got.Invocation.ID != res.InvocationID || got.Invocation.Function != echoFunction {
				t.Errorf("invocation %+v, want id %s and function %s", got.Invocation, res.InvocationID, echoFunction)
			}
			got.Header, got.Invocation, got.RawPath, got.Rest = nil, nil, "", ""
			if len(tt.want.Query) == 0 {
				got.Query = nil
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHTTPLenientForms accepts what the host does not send but a
// hand-written function.json or an older host might: another binding name,
// a header as one string, a JSON body as JSON, a path without the prefix.
func TestHTTPLenientForms(t *testing.T) {
	host, _ := inProcess(t, nil)
	body := `{"Data":{"request":{"Url":"https://x.example/echo/l?a=1","Method":"POST",` +
		`"Headers":{"X-One":"single","Content-Type":["application/json"]},"Body":{"k":[1,2]}}},"Metadata":{}}`
	res, err := host.Send(t.Context(), echoFunction, []byte(body), "")
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("Send: %v %+v", err, res)
	}
	out, err := res.HTTPOutput(azurefunctions.BindingResponse)
	if err != nil {
		t.Fatal(err)
	}
	e := decodeEcho(t, out.Body)
	if e.Path != "/echo/l" || e.RawQuery != "a=1" || e.Header.Get("X-One") != "single" || string(e.Body) != `{"k":[1,2]}` {
		t.Errorf("request %+v", e)
	}
}

// clientRequest is a client's request to the function app; its URL is as
// the client wrote it, with the route prefix.
func clientRequest(t *testing.T, method, url string, body []byte, header http.Header) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		r.Header = header
	}
	return r
}

func TestHTTPDefaultMode(t *testing.T) {
	host, _ := inProcess(t, nil)
	binary := []byte{0, 1, 2, 0xfe, 0xff, '\n'}
	tests := []struct {
		name        string
		req         *http.Request
		body        []byte
		traceparent string
		check       func(t *testing.T, e echoed)
	}{
		{"repeated query values and headers, escaped path", clientRequest(t, "GET",
			"https://app.azurewebsites.net/api/echo/a%2Fb/c?tag=x&tag=y&q=%20", nil,
			http.Header{"X-Tenant": {"a", "b"}, "Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}), nil, "",
			func(t *testing.T, e echoed) {
				if e.Path != "/echo/a/b/c" || e.RawPath != "/echo/a%2Fb/c" || e.RawQuery != "tag=x&tag=y&q=%20" {
					t.Errorf("path %q (%q), query %q", e.Path, e.RawPath, e.RawQuery)
				}
				if !slices.Equal(e.Header["X-Tenant"], []string{"a", "b"}) {
					t.Errorf("X-Tenant = %q, want both values", e.Header["X-Tenant"])
				}
				if e.Invocation.Trace.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
					t.Errorf("trace %+v, want the client's traceparent when the host sends none", e.Invocation.Trace)
				}
			}},
		{"the host's traceparent wins", clientRequest(t, "GET", "https://app.azurewebsites.net/api/echo/t", nil,
			http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}), nil,
			"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			func(t *testing.T, e echoed) {
				if e.Invocation.Trace.TraceID != "0af7651916cd43dd8448eb211c80319c" || !e.Invocation.Trace.Sampled {
					t.Errorf("trace %+v, want the host's", e.Invocation.Trace)
				}
			}},
		{"octet-stream body arrives base64 and exact", clientRequest(t, "PUT", "https://app.azurewebsites.net/api/echo/bin", nil,
			http.Header{"Content-Type": {"application/octet-stream"}}), binary, "",
			func(t *testing.T, e echoed) {
				if !bytes.Equal(e.Body, binary) || e.Header.Get("Content-Length") != "6" {
					t.Errorf("body %v (Content-Length %q), want %v", e.Body, e.Header.Get("Content-Length"), binary)
				}
			}},
		{"multipart body arrives base64 and exact", clientRequest(t, "POST", "https://app.azurewebsites.net/api/echo/form", nil,
			http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}), binary, "",
			func(t *testing.T, e echoed) {
				if !bytes.Equal(e.Body, binary) {
					t.Errorf("body %v, want %v", e.Body, binary)
				}
			}},
		{"other binary types are text to the host: mangled", clientRequest(t, "POST", "https://app.azurewebsites.net/api/echo/png", nil,
			http.Header{"Content-Type": {"image/png"}}), binary, "",
			func(t *testing.T, e echoed) {
				if want := "\x00\x01\x02\uFFFD\uFFFD\n"; string(e.Body) != want {
					t.Errorf("body %q, want the host's lossy UTF-8 decoding %q", e.Body, want)
				}
			}},
		{"UTF-8 text body", clientRequest(t, "POST", "https://app.azurewebsites.net/api/echo/text", nil,
			http.Header{"Content-Type": {"text/plain; charset=utf-8"}}), []byte("héllo ✓"), "",
			func(t *testing.T, e echoed) {
				if string(e.Body) != "héllo ✓" {
					t.Errorf("body %q", e.Body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := azurefunctionstest.HTTPTrigger(tt.req, tt.body)
			inv.Traceparent = tt.traceparent
			res, err := host.Invoke(t.Context(), echoFunction, inv)
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("Invoke: %v %+v", err, res)
			}
			out, err := res.HTTPOutput(azurefunctions.BindingResponse)
			if err != nil {
				t.Fatal(err)
			}
			e := decodeEcho(t, out.Body)
			if e.Method != tt.req.Method {
				t.Errorf("method %q, want %q", e.Method, tt.req.Method)
			}
			tt.check(t, e)
			if !bytes.Equal(res.ReturnValue, res.Outputs[azurefunctions.BindingResponse]) {
				t.Errorf("ReturnValue %s differs from the res output", res.ReturnValue)
			}
		})
	}
}

func TestHTTPDefaultModeResponses(t *testing.T) {
	host, _ := inProcess(t, nil)
	invoke := func(t *testing.T, fn, url string) (*azurefunctionstest.Result, *azurefunctionstest.HTTPResponse) {
		t.Helper()
		res, err := host.Invoke(t.Context(), fn, azurefunctionstest.HTTPTrigger(clientRequest(t, "GET", url, nil, nil), nil))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("Invoke: %v %+v", err, res)
		}
		out, err := res.HTTPOutput(azurefunctions.BindingResponse)
		if err != nil {
			t.Fatal(err)
		}
		return res, out
	}
	t.Run("a binary body cannot be carried: 500 and an error in the Logs", func(t *testing.T) {
		res, out := invoke(t, "get-binary", "https://app.azurewebsites.net/api/binary")
		if out.StatusCode != http.StatusInternalServerError || out.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("response %d %v: %s", out.StatusCode, out.Header, out.Body)
		}
		if bytes.Contains(out.Body, []byte("UTF-8")) {
			t.Errorf("the internal error reached the client: %s", out.Body)
		}
		if !strings.Contains(strings.Join(res.Logs, "\n"), "enableProxyingHttpRequest") {
			t.Errorf("Logs do not explain the failure: %q", res.Logs)
		}
	})
	t.Run("no route: problem+json 404", func(t *testing.T) {
		_, out := invoke(t, echoFunction, "https://app.azurewebsites.net/api/nothing/here")
		if out.StatusCode != http.StatusNotFound || out.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("response %d %v: %s", out.StatusCode, out.Header, out.Body)
		}
	})
}

// TestForwardingMode sends requests as enableForwardingHttpRequest does.
func TestForwardingMode(t *testing.T) {
	host, _ := inProcess(t, nil)
	forward := func(t *testing.T, r *http.Request) (*http.Response, echoed) {
		t.Helper()
		resp, err := host.Forward(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return resp, decodeEcho(t, b)
	}
	t.Run("repeated query values are comma-joined by the host", func(t *testing.T) {
		_, e := forward(t, clientRequest(t, "POST", "http://app.example/echo/z?a=1&a=2&b=3", []byte("body"), nil))
		if e.RawQuery != "a=1%2C2&b=3" || e.Path != "/echo/z" || string(e.Body) != "body" || e.Host != "app.example" {
			t.Errorf("request %+v", e)
		}
		if e.Invocation.ID == "" || e.Invocation.Function != echoFunction {
			t.Errorf("invocation %+v", e.Invocation)
		}
	})
	t.Run("the original query is recovered from X-Original-URL", func(t *testing.T) {
		r := clientRequest(t, "GET", "http://app.example/echo/z?a=1&a=2&b=3", nil,
			http.Header{"X-Original-Url": {"/api/echo/z?a=1&a=2&b=3"}})
		_, e := forward(t, r)
		if !slices.Equal(e.Query["a"], []string{"1", "2"}) {
			t.Errorf("query %v, want a=[1 2]", e.Query)
		}
	})
	t.Run("an X-Original-URL of another path is ignored", func(t *testing.T) {
		r := clientRequest(t, "GET", "http://app.example/echo/z?a=1&a=2", nil,
			http.Header{"X-Original-Url": {"/api/elsewhere?a=1&a=2"}})
		_, e := forward(t, r)
		if !slices.Equal(e.Query["a"], []string{"1,2"}) {
			t.Errorf("query %v, want the forwarded a=[1,2]", e.Query)
		}
	})
	t.Run("a chunked body is dropped by the host", func(t *testing.T) {
		r := clientRequest(t, "POST", "http://app.example/echo/chunked", nil, nil)
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader("lost")), -1
		_, e := forward(t, r)
		if len(e.Body) != 0 {
			t.Errorf("body %q, want none", e.Body)
		}
	})
}

// TestProxyMode sends requests as enableProxyingHttpRequest does: as they are.
func TestProxyMode(t *testing.T) {
	for _, prefix := range []string{"", "/", "v1"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			host, _ := inProcess(t, &azurefunctions.Options{RoutePrefix: prefix})
			resp, err := host.Proxy(t.Context(), clientRequest(t, "PATCH", "http://app.example/echo/x%2Fy?a=1&a=2&sp=%20+",
				[]byte{0, 0xff}, http.Header{"Content-Type": {"image/png"}}))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			e := decodeEcho(t, b)
			if e.RawQuery != "a=1&a=2&sp=%20+" || e.RawPath != "/echo/x%2Fy" || !bytes.Equal(e.Body, []byte{0, 0xff}) {
				t.Errorf("request %+v", e)
			}
			if e.Invocation.ID == "" || e.Invocation.ID != e.Header.Get("X-Ms-Invocation-Id") || e.Invocation.Function != echoFunction {
				t.Errorf("invocation %+v", e.Invocation)
			}
		})
	}
	host, _ := inProcess(t, nil)
	t.Run("binary response", func(t *testing.T) {
		resp, err := host.Proxy(t.Context(), clientRequest(t, "GET", "http://app.example/binary", nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := []byte{0x89, 'P', 'N', 'G', 0xff, 0}; !bytes.Equal(b, want) {
			t.Errorf("body %v, want %v", b, want)
		}
	})
	t.Run("outside the route prefix: 404", func(t *testing.T) {
		req, _ := http.NewRequest("GET", host.URL+"/echo/x", nil)
		req.Header.Set("X-Ms-Invocation-Id", "i-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("status %d %s, want a problem+json 404", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("method not allowed: problem+json 405 with Allow", func(t *testing.T) {
		resp, err := host.Proxy(t.Context(), clientRequest(t, "DELETE", "http://app.example/binary", nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("status %d, Allow %q, %s", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"))
		}
	})
	t.Run("readiness", func(t *testing.T) {
		resp, err := http.Get(host.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET / = %d, want 200", resp.StatusCode)
		}
	})
}

// TestLogsPerInvocation proves concurrent invocations each get their own
// lines, and only the lines logged with their context.
func TestLogsPerInvocation(t *testing.T) {
	host, _ := inProcess(t, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		marker := string(rune('a'+i)) + "-marker"
		wg.Go(func() {
			res, err := host.Invoke(t.Context(), "get-log-marker",
				azurefunctionstest.HTTPTrigger(clientRequest(t, "GET", "https://app.example/api/log/"+marker, nil, nil), nil))
			if err != nil || res.Status != http.StatusOK {
				t.Errorf("Invoke: %v %+v", err, res)
				return
			}
			if len(res.Logs) != 3 {
				t.Errorf("%s: %d lines, want 3: %q", marker, len(res.Logs), res.Logs)
			}
			for _, l := range res.Logs {
				var line map[string]any
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Errorf("line %q is not JSON: %v", l, err)
					continue
				}
				if line["msg"] != "line" || line["marker"] != marker || line["invocation_id"] != res.InvocationID {
					t.Errorf("%s got the line %q of another invocation", marker, l)
				}
			}
		})
	}
	wg.Wait()
}

// TestMalformedInvocations gets a clear 4xx for anything the host would
// never send, never a panic or a 5xx.
func TestMalformedInvocations(t *testing.T) {
	host, rec := inProcess(t, nil)
	tests := []struct {
		function, body string
		want           int
	}{
		{"on-queue", `not json`, 400},
		{"on-queue", `{"Data":{"a":"\"x\"","b":"\"y\""},"Metadata":{}}`, 400},
		{"on-queue", `{"Data":{"message":"\"x\""},"Metadata":{"DequeueCount":"many"}}`, 400},
		{"on-upload", `{"Data":{"blob":"AA=="},"Metadata":{"Uri":"\"ftp://x/y\""}}`, 400},
		{"on-upload", `{"Data":{"blob":"AA=="},"Metadata":{"Uri":"\"https://a.blob.core.windows.net/onlycontainer\""}}`, 400},
		{"on-upload", `{"Data":{"blob":"AA=="},"Metadata":{"Uri":"\"https://a.blob.core.windows.net/c/%zz\""}}`, 400},
		{"on-blob-event", `{"Data":{"event":"[1]"},"Metadata":{}}`, 400},
		{"on-blob-event", `{"Data":{"event":{"eventType":"Microsoft.Storage.BlobCreated","subject":"/x","id":"1","topic":"/t"}},"Metadata":{}}`, 400},
		{"on-change", `{"Data":{"documents":"[1,2]"},"Metadata":{}}`, 400},
		{"on-timer", `{"Data":{"timer":"\"soon\""},"Metadata":{}}`, 400},
		{"on-timer", `{"Data":{"timer":{"IsPastDue":"maybe"}},"Metadata":{}}`, 400},
		{echoFunction, `{"Data":{"req":{"Method":"GET"}},"Metadata":{}}`, 400},
		{echoFunction, `{"Data":{"req":{"Url":"https://x/api/echo","Method":"G ET"}},"Metadata":{}}`, 400},
		{echoFunction, `{"Data":{"req":{"Url":"https://x/api/echo","Method":"POST","Headers":{"Content-Type":["application/octet-stream"]},"Body":"%%%"}},"Metadata":{}}`, 400},
	}
	for _, tt := range tests {
		res, err := host.Send(t.Context(), tt.function, []byte(tt.body), "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tt.want {
			t.Errorf("%s %s: status %d, want %d: %s", tt.function, tt.body, res.Status, tt.want, res.Body)
		}
	}
	for fn := range rec.events {
		t.Errorf("%s was called with malformed input", fn)
	}
}

func TestEventPanicIsContained(t *testing.T) {
	host, rec := inProcess(t, nil)
	res, err := host.Invoke(t.Context(), "on-queue", queueMessage("panic"))
	if err != nil || res.Status != http.StatusInternalServerError {
		t.Fatalf("panicking event: %v %+v, want a 500 reply", err, res)
	}
	if bytes.Contains(res.Body, []byte("asked to panic")) {
		t.Errorf("the panic value reached the reply: %s", res.Body)
	}
	res, err = host.Invoke(t.Context(), "on-queue", queueMessage("fine"))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("the next invocation: %v %+v", err, res)
	}
	if got := rec.take("on-queue"); len(got) != 2 {
		t.Errorf("%d deliveries, want 2", len(got))
	}
}

func TestNewRejectsDuplicates(t *testing.T) {
	h := core.HandlerFunc(nil)
	a, b := core.NewApp("a"), core.NewApp("b")
	a.On("same", core.TimerTrigger{Schedule: "@daily"}, h)
	b.On("same", core.TimerTrigger{Schedule: "@daily"}, h)
	if _, err := azurefunctions.New([]*core.App{a, b}, nil); err == nil {
		t.Error("two apps with one event function name: New succeeded")
	}
	c, d := core.NewApp("c"), core.NewApp("d")
	c.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	d.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	if _, err := azurefunctions.New([]*core.App{c, d}, nil); err == nil {
		t.Error("two apps with one route: New succeeded")
	}
}

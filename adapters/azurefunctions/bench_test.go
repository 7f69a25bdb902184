package azurefunctions_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

// The benchmarks compare the default-mode HTTP path (the host's JSON →
// net/http request → the app's http.Handler → the reply's JSON) with a
// hand-written custom handler that decodes the same JSON into structs with
// encoding/json, calls the same business logic, and encodes the same reply.
// Compare them with benchstat (docs/performance.md).

// newUser is the business logic both handlers run: decode the user, answer it.
func newUser(body []byte) ([]byte, error) {
	var u struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "name": u.Name, "email": u.Email})
}

// benchInvocation is a realistic default-mode request: POST /api/users
// from behind App Service's front end, with its headers.
func benchInvocation(b testing.TB) []byte {
	body := []byte(`{"name":"Ada Lovelace","email":"ada@example.com"}`)
	req, err := http.NewRequest("POST", "https://users.azurewebsites.net/api/users?source=bench", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range map[string]string{
		"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br", "Content-Type": "application/json",
		"User-Agent": "curl/8.5.0", "Max-Forwards": "9", "X-Arr-Log-Id": "03f45b02-ca0c-44a4-8fbd-1a916dc44743",
		"Client-Ip": "10.0.32.9:31863", "X-Site-Deployment-Id": "users", "Was-Default-Hostname": "users.azurewebsites.net",
		"X-Forwarded-Proto": "https", "X-Appservice-Proto": "https", "X-Forwarded-Tlsversion": "1.3",
		"X-Forwarded-For": "203.0.113.7:8622", "X-Original-Url": "/api/users?source=bench",
		"X-Waws-Unencoded-Url": "/api/users?source=bench", "Disguised-Host": "users.azurewebsites.net",
		"Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		req.Header.Set(k, v)
	}
	inv := azurefunctionstest.HTTPTrigger(req, body)
	inv.Metadata["sys"] = azurefunctionstest.Sys("post-users", at("2026-11-21T10:30:00Z"))
	out, err := json.Marshal(struct{ Data, Metadata map[string]json.RawMessage }{inv.Data, inv.Metadata})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// discard is a ResponseWriter that keeps only the status and size.
type discard struct {
	header http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// runBench serves requests like proto, with payload as the body, and
// expects want.
func runBench(b *testing.B, h http.Handler, proto *http.Request, payload []byte, want int) {
	w := &discard{header: http.Header{}}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r := *proto
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(payload)), int64(len(payload))
		clear(w.header)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, &r)
		if w.status != want || w.n == 0 {
			b.Fatalf("status %d, %d bytes", w.status, w.n)
		}
	}
	// On a shared machine wall time includes waiting for a CPU; the
	// process's CPU time (garbage collection included) does not.
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// hostRequest is the host's default-mode request for post-users.
func hostRequest(b *testing.B) *http.Request {
	r, err := http.NewRequest("POST", "http://127.0.0.1:7071/post-users", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("X-Azure-Functions-InvocationId", "0f8fad5b-d9cb-469f-a165-70867728950e")
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	return r
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkDefaultModeHTTP(b *testing.B) {
	runBench(b, usersHandler(b), hostRequest(b), benchInvocation(b), http.StatusOK)
}

// usersApp is an app whose one route runs newUser.
func usersApp() *core.App {
	app := core.NewApp("users")
	app.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			core.WriteError(w, r, core.Errorf(core.InvalidArgument, "%w", err))
			return
		}
		out, err := newUser(body)
		if err != nil {
			core.WriteError(w, r, core.Errorf(core.InvalidArgument, "%w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(out)
	})
	return app
}

// usersHandler is the custom handler of usersApp.
func usersHandler(tb testing.TB) *azurefunctions.Handler {
	h, err := azurefunctions.New([]*core.App{usersApp()}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// handWritten is the baseline: the custom handler one would write for this
// one function with encoding/json alone.
func handWritten(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Data struct {
			Req struct {
				URL     string              `json:"Url"`
				Method  string              `json:"Method"`
				Query   map[string]string   `json:"Query"`
				Headers map[string][]string `json:"Headers"`
				Body    string              `json:"Body"`
			} `json:"req"`
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type res struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	out := res{StatusCode: http.StatusCreated, Headers: map[string]string{"Content-Type": "application/json"}}
	body, err := newUser([]byte(in.Data.Req.Body))
	if err != nil {
		out = res{StatusCode: http.StatusBadRequest, Headers: map[string]string{}}
	}
	out.Body = string(body)
	reply, _ := json.Marshal(map[string]any{"Outputs": map[string]res{"res": out}, "Logs": []string{}, "ReturnValue": out})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(reply)
}

func BenchmarkHandWrittenHTTP(b *testing.B) {
	runBench(b, http.HandlerFunc(handWritten), hostRequest(b), benchInvocation(b), http.StatusOK)
}

// userBody is the client's body in the proxied benchmarks.
var userBody = []byte(`{"name":"Ada Lovelace","email":"ada@example.com"}`)

// BenchmarkProxiedHTTP is a request as enableProxyingHttpRequest sends it,
// through the handler; BenchmarkAppHTTP is the same request served by the
// app's own handler, without the adapter.
func BenchmarkProxiedHTTP(b *testing.B) {
	r, _ := http.NewRequest("POST", "http://127.0.0.1:7071/api/users", nil)
	r.Header.Set("X-Ms-Invocation-Id", "0f8fad5b-d9cb-469f-a165-70867728950e")
	r.Header.Set("Content-Type", "application/json")
	runBench(b, usersHandler(b), r, userBody, http.StatusCreated)
}

func BenchmarkAppHTTP(b *testing.B) {
	r, _ := http.NewRequest("POST", "http://127.0.0.1:7071/users", nil)
	r.Header.Set("Content-Type", "application/json")
	runBench(b, usersApp().HTTPHandler(), r, userBody, http.StatusCreated)
}

// TestBenchmarkHandlersAgree keeps the comparison honest: both handlers
// give the client the same response for the benchmark's payload.
func TestBenchmarkHandlersAgree(t *testing.T) {
	payload := benchInvocation(t)
	var outputs []map[string]any
	for _, h := range []http.Handler{usersHandler(t), http.HandlerFunc(handWritten)} {
		req := httptest.NewRequest("POST", "/post-users", bytes.NewReader(payload))
		req.Header.Set("X-Azure-Functions-InvocationId", "0f8fad5b-d9cb-469f-a165-70867728950e")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply struct {
			Outputs map[string]map[string]any
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("reply %s: %v", rec.Body, err)
		}
		res := reply.Outputs["res"]
		outputs = append(outputs, map[string]any{"statusCode": res["statusCode"], "body": res["body"]})
	}
	if diff := cmp.Diff(outputs[1], outputs[0]); diff != "" {
		t.Errorf("responses differ (-hand-written +adapter):\n%s", diff)
	}
}

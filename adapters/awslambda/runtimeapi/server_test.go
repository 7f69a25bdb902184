package runtimeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
)

// The test binary doubles as a bootstrap: started with bootstrapEnv set, it
// runs aws-lambda-go's real runtime loop with testFunction instead of the
// tests.
const bootstrapEnv = "RUNTIMEAPI_TEST_BOOTSTRAP"

func TestMain(m *testing.M) {
	if os.Getenv(bootstrapEnv) == "1" {
		runBootstrap()
		return
	}
	os.Exit(m.Run())
}

func runBootstrap() {
	if msg := os.Getenv("FAIL_INIT"); msg != "" {
		body := fmt.Sprintf(`{"errorMessage":%q,"errorType":"Runtime.InitError"}`, msg)
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error",
			"application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.StartWithOptions(testFunction, lambda.WithEnableSIGTERM(func() {
		if f := os.Getenv("SIGTERM_FILE"); f != "" {
			_ = os.WriteFile(f, []byte("closed"), 0o644)
		}
		os.Exit(0)
	}))
}

// testFunction's behaviour is chosen by its payload.
func testFunction(ctx context.Context, in json.RawMessage) (any, error) {
	var cmd string
	if json.Unmarshal(in, &cmd) != nil {
		// A function URL's request: the path names the command.
		var req struct{ RawPath string }
		_ = json.Unmarshal(in, &req)
		cmd = strings.TrimPrefix(req.RawPath, "/")
	}
	switch cmd {
	case "exit":
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	case "fail":
		return nil, errors.New("failed on purpose")
	case "stream", "stream-http", "stream-fail":
		return streamResponse(cmd), nil
	case "context":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{
			"requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn, "deadline": deadline.UnixMilli(),
			"trace": ctx.Value("x-amzn-trace-id"), "function": lambdacontext.FunctionName,
			"memory": lambdacontext.MemoryLimitInMB, "custom": os.Getenv("CUSTOM"),
		}, nil
	}
	return in, nil
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startServer starts a server, with the test binary as its bootstrap when
// withBootstrap is set.
func startServer(t *testing.T, withBootstrap bool, opts runtimeapi.Options) *runtimeapi.Server {
	t.Helper()
	if withBootstrap {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		opts.Bootstrap = exe
		opts.Env = append([]string{bootstrapEnv + "=1"}, opts.Env...)
	}
	opts.Logger = quietLogger()
	s, err := runtimeapi.Start(t.Context(), "127.0.0.1:0", &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func invoke(t *testing.T, s *runtimeapi.Server, payload string) runtimeapi.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	resp, err := s.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func errorType(t *testing.T, r runtimeapi.Response) string {
	t.Helper()
	if r.FunctionError != "Unhandled" {
		t.Fatalf("got FunctionError %q and payload %s, want a function error", r.FunctionError, r.Payload)
	}
	var doc struct{ ErrorType string }
	if err := json.Unmarshal(r.Payload, &doc); err != nil {
		t.Fatalf("error document %s: %v", r.Payload, err)
	}
	return doc.ErrorType
}

// runtimeClient plays a custom runtime by hand, for what aws-lambda-go never
// does (answer late, answer the wrong id).
type runtimeClient struct {
	t    *testing.T
	base string
}

func (c runtimeClient) next(ctx context.Context) (*http.Response, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/2018-06-01/runtime/invocation/next", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func (c runtimeClient) post(path, body string, header ...string) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRuntimeAPIByHand(t *testing.T) {
	s := startServer(t, false, runtimeapi.Options{FunctionName: "hand", Timeout: 2 * time.Second, Region: "eu-west-1"})
	c := runtimeClient{t: t, base: "http://" + s.Addr()}

	type result struct {
		resp runtimeapi.Response
		err  error
	}
	results := make(chan result, 2)
	for _, p := range []string{`"one"`, `"two"`} {
		go func() {
			r, err := s.Invoke(t.Context(), []byte(p))
			results <- result{r, err}
		}()
		time.Sleep(20 * time.Millisecond) // queue them in order
	}

	start := time.Now()
	resp, body, err := c.next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	deadline, _ := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if string(body) != `"one"` || id == "" {
		t.Fatalf("next: id %q body %s", id, body)
	}
	if d := time.UnixMilli(deadline).Sub(start); d < time.Second || d > 3*time.Second {
		t.Errorf("deadline in %v, want about the 2s timeout", d)
	}
	if got := resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"); got != "arn:aws:lambda:eu-west-1:000000000000:function:hand" {
		t.Errorf("ARN: got %q", got)
	}
	if !strings.HasPrefix(resp.Header.Get("Lambda-Runtime-Trace-Id"), "Root=1-") {
		t.Errorf("trace: got %q", resp.Header.Get("Lambda-Runtime-Trace-Id"))
	}

	// One invocation at a time: the second waits until the first is answered.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	if _, _, err := c.next(ctx); err == nil {
		t.Error("a second invocation was handed out while the first ran")
	}
	cancel()

	if got := c.post("/2018-06-01/runtime/invocation/not-"+id+"/response", `{}`); got != http.StatusBadRequest {
		t.Errorf("answer for an unknown id: got %d, want 400", got)
	}
	if got := c.post("/2018-06-01/runtime/invocation/"+id+"/response", `{"ok":1}`); got != http.StatusAccepted {
		t.Errorf("response: got %d, want 202", got)
	}
	r := <-results
	if r.err != nil || string(r.resp.Payload) != `{"ok":1}` || r.resp.FunctionError != "" || r.resp.RequestID != id {
		t.Errorf("first invocation: got %+v, %v", r.resp, r.err)
	}

	resp, body, err = c.next(t.Context())
	if err != nil || string(body) != `"two"` {
		t.Fatalf("second next: %s, %v", body, err)
	}
	id = resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if got := c.post("/2018-06-01/runtime/invocation/"+id+"/error", `{"errorMessage":"bad","errorType":"MyError"}`,
		"Lambda-Runtime-Function-Error-Type", "MyError"); got != http.StatusAccepted {
		t.Errorf("error: got %d, want 202", got)
	}
	r = <-results
	if typ := errorType(t, r.resp); typ != "MyError" {
		t.Errorf("error type: got %q", typ)
	}
	if got := c.post("/2018-06-01/runtime/invocation/"+id+"/response", `{}`); got != http.StatusBadRequest {
		t.Errorf("a second answer: got %d, want 400", got)
	}
}

func TestTimeoutWithoutBootstrap(t *testing.T) {
	s := startServer(t, false, runtimeapi.Options{Timeout: 100 * time.Millisecond})
	c := runtimeClient{t: t, base: "http://" + s.Addr()}
	done := make(chan runtimeapi.Response, 1)
	go func() { done <- invoke(t, s, `"slow"`) }()
	resp, _, err := c.next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r := <-done
	if typ := errorType(t, r); typ != "Sandbox.Timedout" {
		t.Errorf("got %q, want Sandbox.Timedout", typ)
	}
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if got := c.post("/2018-06-01/runtime/invocation/"+id+"/response", `{}`); got != http.StatusBadRequest {
		t.Errorf("late answer: got %d, want 400", got)
	}
}

func TestInvokeEndpoint(t *testing.T) {
	s := startServer(t, true, runtimeapi.Options{Timeout: 5 * time.Second})
	post := func(body string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.InvokeURL(), strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct {
		name, body  string
		header      []string
		status      int
		functionErr string
		want        string
	}{
		{name: "response", body: `{"a":1}`, status: 200, want: `{"a":1}`},
		{name: "function error", body: `"fail"`, status: 200, functionErr: "Unhandled", want: `"errorMessage":"failed on purpose"`},
		{name: "trace passed through", body: `"context"`, header: []string{"X-Amzn-Trace-Id", "Root=1-00000001-000000000000000000000001;Sampled=1"},
			status: 200, want: `"trace":"Root=1-00000001-000000000000000000000001;Sampled=1"`},
		{name: "asynchronous", body: `{}`, header: []string{"X-Amz-Invocation-Type", "Event"}, status: 202},
		{name: "dry run", body: `{}`, header: []string{"X-Amz-Invocation-Type", "DryRun"}, status: 204},
		{name: "unknown invocation type", body: `{}`, header: []string{"X-Amz-Invocation-Type", "Later"}, status: 400},
		{name: "too large", body: `"` + strings.Repeat("x", runtimeapi.MaxPayload) + `"`, status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(tt.body, tt.header...)
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amz-Function-Error") != tt.functionErr {
				t.Errorf("got %d, X-Amz-Function-Error %q, body %s", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), body)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("body %s does not contain %s", body, tt.want)
			}
		})
	}
}

func TestBootstrapEnvironment(t *testing.T) {
	s := startServer(t, true, runtimeapi.Options{FunctionName: "fn", MemoryMB: 256, Timeout: 5 * time.Second, Env: []string{"CUSTOM=yes"}})
	start := time.Now()
	r := invoke(t, s, `"context"`)
	var got struct {
		RequestID, ARN, Function, Custom string
		Deadline                         int64
		Memory                           int
	}
	if err := json.Unmarshal(r.Payload, &got); err != nil {
		t.Fatalf("%s: %v", r.Payload, err)
	}
	if got.RequestID != r.RequestID || got.Function != "fn" || got.Memory != 256 || got.Custom != "yes" ||
		got.ARN != "arn:aws:lambda:us-east-1:000000000000:function:fn" {
		t.Errorf("got %+v for request %s", got, r.RequestID)
	}
	if d := time.UnixMilli(got.Deadline).Sub(start); d < 4*time.Second || d > 6*time.Second {
		t.Errorf("deadline in %v, want about 5s", d)
	}
}

// TestSupervision: a runtime that exits or hangs fails its invocation and is
// replaced, and the next invocation works.
func TestSupervision(t *testing.T) {
	s := startServer(t, true, runtimeapi.Options{Timeout: time.Second})
	for _, tt := range []struct{ payload, errorType string }{
		{`"exit"`, "Runtime.ExitError"},
		{`"hang"`, "Sandbox.Timedout"},
	} {
		if typ := errorType(t, invoke(t, s, tt.payload)); typ != tt.errorType {
			t.Errorf("%s: got %q, want %q", tt.payload, typ, tt.errorType)
		}
		if r := invoke(t, s, `"after"`); string(r.Payload) != `"after"` || r.FunctionError != "" {
			t.Errorf("after %s: got %+v", tt.payload, r)
		}
	}
}

func TestInitError(t *testing.T) {
	s := startServer(t, true, runtimeapi.Options{Env: []string{"FAIL_INIT=no database"}})
	r := invoke(t, s, `{}`)
	if typ := errorType(t, r); typ != "Runtime.InitError" || !bytes.Contains(r.Payload, []byte("no database")) {
		t.Errorf("got %s, want the runtime's init error", r.Payload)
	}
}

func TestCloseSendsSIGTERM(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "closed")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := runtimeapi.Start(t.Context(), "127.0.0.1:0", &runtimeapi.Options{
		Bootstrap: exe, Env: []string{bootstrapEnv + "=1", "SIGTERM_FILE=" + marker}, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	invoke(t, s, `{}`) // the runtime has registered its extension by now
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the runtime did not see SIGTERM: %v", err)
	}
	if _, err := s.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, runtimeapi.ErrClosed) {
		t.Errorf("Invoke after Close: got %v, want ErrClosed", err)
	}
}

func TestMissingBootstrap(t *testing.T) {
	_, err := runtimeapi.Start(t.Context(), "127.0.0.1:0", &runtimeapi.Options{
		Bootstrap: filepath.Join(t.TempDir(), "nothing"), Logger: quietLogger(),
	})
	if err == nil {
		t.Fatal("Start succeeded without a bootstrap")
	}
}

func TestResponseTooLarge(t *testing.T) {
	s := startServer(t, false, runtimeapi.Options{Timeout: time.Minute}) // 6 MB take a while under -race
	c := runtimeClient{t: t, base: "http://" + s.Addr()}
	done := make(chan runtimeapi.Response, 1)
	go func() { done <- invoke(t, s, `"big"`) }()
	resp, _, err := c.next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	big := `"` + strings.Repeat("x", runtimeapi.MaxPayload) + `"`
	if got := c.post("/2018-06-01/runtime/invocation/"+id+"/response", big); got != http.StatusRequestEntityTooLarge {
		t.Errorf("got %d, want 413", got)
	}
	if typ := errorType(t, <-done); typ != "Function.ResponseSizeTooLarge" {
		t.Errorf("got %q", typ)
	}
}

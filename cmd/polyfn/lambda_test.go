package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
	"github.com/polyfn/polyfn/telemetry/emf/emftest"
)

func TestLambdaUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"lambda"}, "Usage: polyfn lambda serve"},
		{[]string{"lambda", "run"}, "Usage: polyfn lambda serve"},
		{[]string{"lambda", "serve"}, "--bootstrap is required"},
		{[]string{"lambda", "serve", "--bootstrap", "b", "--env", "NOEQUALS"}, "want KEY=VALUE"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: stderr %q does not contain %q", tt.args, stderr.String(), tt.want)
		}
	}
}

// unzipBootstrap extracts the zip's bootstrap with the mode the zip records.
func unzipBootstrap(t *testing.T, zipPath, dir string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("zip entries: got %v, want bootstrap alone", zr.File)
	}
	f := zr.File[0]
	if f.Mode().Perm()&0o111 == 0 {
		t.Fatalf("bootstrap mode %v is not executable", f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	bin := filepath.Join(dir, "bootstrap")
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, f.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, rc); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestBuildAWSRunsUnderLambdaServe packs the users function with
// `polyfn build --cloud aws` and runs the zip's bootstrap under
// `polyfn lambda serve`, invoked over HTTP as the Lambda Invoke API is. The
// bootstrap's output holds its observability: Lambda's JSON log lines, with
// the request id of the invocation that logged them, and an EMF line of
// each invocation's metrics.
func TestBuildAWSRunsUnderLambdaServe(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the users function; skipped with -short")
	}
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("a Lambda bootstrap is a linux/amd64 or linux/arm64 binary; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"build", "--cloud", "aws", "--arch", runtime.GOARCH, "--out", out, "../users"}, &stdout, &stderr); code != 0 {
		t.Fatalf("polyfn build: exit %d\n%s", code, stderr.String())
	}
	tmpl, err := os.ReadFile(filepath.Join(out, "aws", "users", "template.yaml"))
	if err != nil || !bytes.Contains(tmpl, []byte("Runtime: provided.al2023")) {
		t.Fatalf("template: %v\n%s", err, tmpl)
	}
	bin := unzipBootstrap(t, filepath.Join(out, "aws", "users.zip"), t.TempDir())

	iss := authtest.NewIssuer(t)
	bucket := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	serveOut, serveErr := &emulators.SyncBuffer{}, &emulators.SyncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"lambda", "serve", "--bootstrap", bin, "--addr", "127.0.0.1:0", "--name", "users",
			"--env", "USERS_BUCKET_URL=file://" + filepath.ToSlash(bucket),
			"--env", "USERS_OIDC_ISSUER=" + iss.URL, "--env", "USERS_OIDC_AUDIENCE=" + authtest.Audience}, serveOut, serveErr)
	}()
	defer func() {
		cancel()
		if code := <-exited; code != 0 {
			t.Errorf("polyfn lambda serve: exit %d\n%s", code, serveErr.String())
		}
		if t.Failed() {
			t.Logf("polyfn lambda serve's output:\n%s", serveErr.String())
		}
	}()
	invokeURL := waitForInvokeURL(t, serveOut, exited)

	authz := iss.Bearer(t, "grace", "users:read", "users:write")
	var requestID string // of the last invocation, as the Invoke API's X-Amzn-RequestId tells it
	invoke := func(method, path, body string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		event, _ := json.Marshal(events.APIGatewayV2HTTPRequest{
			Version: "2.0", RawPath: path, Headers: map[string]string{"content-type": "application/json", "authorization": authz},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: "api.example.com", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			},
			Body: body,
		})
		resp, err := http.Post(invokeURL, "application/json", bytes.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		requestID = resp.Header.Get("X-Amzn-RequestId")
		reply, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
			t.Fatalf("invoke: %d %s", resp.StatusCode, reply)
		}
		var r events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(reply, &r); err != nil {
			t.Fatalf("reply %s: %v", reply, err)
		}
		return r
	}
	created := invoke("POST", "/users", `{"name":"Grace Hopper","email":"grace@example.com"}`)
	if created.StatusCode != http.StatusCreated {
		t.Fatalf("POST /users: %d %s", created.StatusCode, created.Body)
	}
	if got := invoke("GET", created.Headers["Location"], ""); got.StatusCode != http.StatusOK || got.Body != created.Body {
		t.Errorf("GET %s: %d %s", created.Headers["Location"], got.StatusCode, got.Body)
	}
	// A stored user that no longer decodes: the function answers 500 and
	// logs the failure with the invocation's context.
	const broken = "6c792c37-a1d3-4387-a78a-267a711a9c3e"
	if err := os.WriteFile(filepath.Join(bucket, "users", broken+".json"), []byte(`{"id":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := invoke("GET", "/users/"+broken, ""); got.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET of an undecodable user: %d %s, want 500", got.StatusCode, got.Body)
	}
	failedID := requestID
	authz = ""
	if got := invoke("GET", created.Headers["Location"], ""); got.StatusCode != http.StatusUnauthorized || got.Headers["Www-Authenticate"] != `Bearer realm="polyfn"` {
		t.Errorf("GET without a token: %d %v, want 401 with WWW-Authenticate", got.StatusCode, got.Headers)
	}
	if failedID == "" || failedID == requestID {
		t.Fatalf("the Invoke API's request ids: %q then %q, want two", failedID, requestID)
	}
	checkLambdaTelemetry(t, serveErr, failedID, 4)
}

// checkLambdaTelemetry reads the users bootstrap's output, as `polyfn lambda
// serve` copies it, once its invocations (the last of them unauthenticated)
// ended: a JSON log line in Lambda's format reports the failure of invocation
// failedID with its request id, and the EMF lines, which follow the
// specification, count invocations HTTP invocations of users, its errors
// by code and one cold start.
func checkLambdaTelemetry(t *testing.T, out *emulators.SyncBuffer, failedID string, invocations int) {
	t.Helper()
	emf := emftest.NewChecker(t, filepath.Join("..", "..", emftest.SchemaPath))
	type logLine struct {
		Timestamp, Level, Message, RequestID, Code string
	}
	var (
		logs    []logLine
		metrics map[string]float64 // metric name, with its ErrorCode if any → sum
	)
	// The bootstrap writes the metrics at the end of each invocation; its
	// output reaches the buffer through a pipe, so wait for the last.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		logs, metrics = nil, map[string]float64{}
		for _, line := range strings.Split(out.String(), "\n") {
			if !strings.HasPrefix(line, "{") {
				continue // the server's own log
			}
			if strings.Contains(line, `"_aws"`) {
				doc := emf.Check(t, line)
				// The built-in metrics are the function's; others come from
				// the libraries it uses (gocloud.dev's blob metrics).
				_, handled := doc["Invocations"]
				if _, failed := doc["Errors"]; (handled || failed) && (doc["FunctionName"] != "users" || doc["Trigger"] != "http") {
					t.Errorf("EMF line %s is not of the users function's HTTP invocations", line)
				}
				if _, cold := doc["ColdStarts"]; cold && doc["FunctionName"] != "users" {
					t.Errorf("EMF line %s is not of the users function", line)
				}
				for k, v := range doc {
					if n, ok := v.(float64); ok {
						if code, ok := doc["ErrorCode"].(string); ok {
							k += " " + code
						}
						metrics[k] += n
					}
				}
				continue
			}
			var l logLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
			logs = append(logs, l)
		}
		if metrics["Invocations"] >= float64(invocations) || time.Now().After(deadline) {
			break
		}
	}
	var failure *logLine
	for i, l := range logs {
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", l.Timestamp); err != nil || l.Level == "" || l.Message == "" {
			t.Errorf("log line %+v is not in Lambda's JSON log format", l)
		}
		if l.RequestID == failedID {
			failure = &logs[i]
		}
	}
	if failure == nil || failure.Level != "ERROR" || failure.Message != "request failed" || failure.Code != "internal" {
		t.Errorf("no ERROR line \"request failed\" with requestId %s and code internal among %+v", failedID, logs)
	}
	want := map[string]float64{
		"Invocations": float64(invocations), "Errors internal": 1, "Errors unauthenticated": 1, "ColdStarts": 1,
	}
	for k, v := range want {
		if metrics[k] != v {
			t.Errorf("EMF %s = %v, want %v (all: %v)", k, metrics[k], v, metrics)
		}
	}
	if metrics["Duration"] <= 0 {
		t.Errorf("EMF Duration = %v, want the invocations' time", metrics["Duration"])
	}
}

var invokeURLPattern = regexp.MustCompile(`http://\S+/invocations`)

func waitForInvokeURL(t *testing.T, out *emulators.SyncBuffer, exited <-chan int) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if u := invokeURLPattern.FindString(out.String()); u != "" {
			return u
		}
		select {
		case code := <-exited:
			t.Fatalf("polyfn lambda serve exited with %d", code)
		case <-deadline:
			t.Fatal("polyfn lambda serve did not announce its address")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

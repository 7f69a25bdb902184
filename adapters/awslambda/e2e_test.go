package awslambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/internal/usermodule"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// The end-to-end tests run the example functions' real -tags aws bootstraps
// under the local Runtime API: aws-lambda-go's runtime loop, the adapter and
// the functions, as on Lambda.

var bootstraps struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{bootstraps.dir, deployBuilds.dir} {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// bootstrap returns the path of the named example function's bootstrap,
// building all of them once per test binary.
func bootstrap(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the example functions' bootstraps; skipped with -short")
	}
	bootstraps.once.Do(func() {
		bootstraps.dir, bootstraps.err = os.MkdirTemp("", "awslambda-e2e-")
		if bootstraps.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-tags", "aws,lambda.norpc", "-o", bootstraps.dir+string(filepath.Separator),
			"./cmd/users", "./cmd/thumbnails", "./cmd/orders")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			bootstraps.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bootstraps.err != nil {
		t.Fatal(bootstraps.err)
	}
	return filepath.Join(bootstraps.dir, name)
}

// serve runs the named function's bootstrap under a local Runtime API.
func serve(t *testing.T, name string, env ...string) *runtimeapi.Server {
	t.Helper()
	out := &emulators.SyncBuffer{}
	return serveTo(t, name, out, out, env...)
}

// serveTo is serve with the bootstrap's standard output and error written
// to stdout and stderr, and the server's log to stderr.
func serveTo(t *testing.T, name string, stdout, stderr *emulators.SyncBuffer, env ...string) *runtimeapi.Server {
	t.Helper()
	s, err := runtimeapi.Start(t.Context(), "127.0.0.1:0", &runtimeapi.Options{
		Bootstrap: bootstrap(t, name), FunctionName: name, Env: env, Timeout: 20 * time.Second,
		Stdout: stdout, Stderr: stderr, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		if t.Failed() {
			if stdout != stderr {
				t.Logf("%s's standard output:\n%s", name, stdout)
			}
			t.Logf("%s's output and the server's log:\n%s", name, stderr)
		}
	})
	return s
}

func invoke(t *testing.T, s *runtimeapi.Server, event any) []byte {
	t.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := s.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if r.FunctionError != "" {
		t.Fatalf("function error: %s", r.Payload)
	}
	return r.Payload
}

// httpRequest is an HTTP API (payload 2.0) event; header holds more
// headers (name, value, …), which API Gateway sends in lower case.
func httpRequest(method, path, body string, header ...string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{"content-type": "application/json", "host": "api.example.com"}
	for i := 0; i+1 < len(header); i += 2 {
		headers[strings.ToLower(header[i])] = header[i+1]
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path,
		Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "e2e", Stage: "$default", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"},
		},
		Body: body,
	}
}

func httpResponse(t *testing.T, s *runtimeapi.Server, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if out := invoke(t, s, req); json.Unmarshal(out, &resp) != nil {
		t.Fatalf("reply %s is not an HTTP API response", out)
	}
	return resp
}

func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }

// usersEnv is the environment of a users bootstrap on a bucket in dir that
// trusts iss, with vars (NAME=value) added.
func usersEnv(dir string, iss *authtest.Issuer, vars ...string) []string {
	return append([]string{"USERS_BUCKET_URL=" + fileURL(dir), "USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience}, vars...)
}

func TestUsersEndToEnd(t *testing.T) {
	iss := authtest.NewIssuer(t)
	s := serve(t, "users", usersEnv(t.TempDir(), iss)...)
	authz := []string{"Authorization", iss.Bearer(t, "ada", "users:read", "users:write")}

	created := httpResponse(t, s, httpRequest("POST", "/users", `{"name":"Ada Lovelace","email":"ada@example.com"}`, authz...))
	if created.StatusCode != http.StatusCreated {
		t.Fatalf("POST /users: got %d %s, want 201", created.StatusCode, created.Body)
	}
	location := created.Headers["Location"]
	if !strings.HasPrefix(location, "/users/") {
		t.Fatalf("Location: got %q", location)
	}

	got := httpResponse(t, s, httpRequest("GET", location, "", authz...))
	if got.StatusCode != http.StatusOK || got.Body != created.Body {
		t.Errorf("GET %s: got %d %s, want 200 %s", location, got.StatusCode, got.Body, created.Body)
	}
	missing := httpResponse(t, s, httpRequest("GET", "/users/00000000-0000-4000-8000-000000000000", "", authz...))
	if missing.StatusCode != http.StatusNotFound || missing.Headers["Content-Type"] != "application/problem+json" {
		t.Errorf("GET of a missing user: got %d %v", missing.StatusCode, missing.Headers)
	}
}

// TestUsersPoliciesEndToEnd checks the users function's gateway policies
// through the -tags aws bootstrap, as API Gateway would deliver the
// requests: the function, not the gateway, enforces them.
func TestUsersPoliciesEndToEnd(t *testing.T) {
	iss := authtest.NewIssuer(t)
	keys := authtest.KeyListURL(t, authtest.Key{Name: "importer", Secret: "importer-secret"})
	s := serve(t, "users", usersEnv(t.TempDir(), iss, "USERS_API_KEYS_URL="+keys, "USERS_RATE_LIMIT=5/h")...)
	const ada = `{"name":"Ada Lovelace","email":"ada@example.com"}`
	bearer := func(sub string, scopes ...string) []string {
		return []string{"Authorization", iss.Bearer(t, sub, scopes...)}
	}

	if r := httpResponse(t, s, httpRequest("POST", "/users", ada)); r.StatusCode != http.StatusUnauthorized ||
		r.Headers["Www-Authenticate"] != `Bearer realm="polyfn"` || r.Headers["Content-Type"] != "application/problem+json" {
		t.Errorf("no token: got %d %v, want a 401 problem with a Bearer challenge", r.StatusCode, r.Headers)
	}
	if r := httpResponse(t, s, httpRequest("POST", "/users", ada, bearer("reader", "users:read")...)); r.StatusCode != http.StatusForbidden ||
		!strings.Contains(r.Headers["Www-Authenticate"], `error="insufficient_scope", scope="users:write"`) {
		t.Errorf("a token without users:write: got %d %v, want 403 insufficient_scope", r.StatusCode, r.Headers)
	}
	if r := httpResponse(t, s, httpRequest("POST", "/users", ada, "X-API-Key", "importer-secret")); r.StatusCode != http.StatusCreated {
		t.Errorf("an API key: got %d %s, want 201", r.StatusCode, r.Body)
	}

	writer := bearer("writer", "users:read", "users:write")
	first := httpResponse(t, s, httpRequest("POST", "/users", ada, append(writer, "Idempotency-Key", "k-1")...))
	again := httpResponse(t, s, httpRequest("POST", "/users", ada, append(writer, "Idempotency-Key", "k-1")...))
	if first.StatusCode != http.StatusCreated || again.StatusCode != http.StatusCreated || again.Body != first.Body ||
		again.Headers["Idempotent-Replayed"] != "true" {
		t.Errorf("a retried Idempotency-Key: got %d %s then %d %s %v, want the same user replayed",
			first.StatusCode, first.Body, again.StatusCode, again.Body, again.Headers)
	}

	bad := httpResponse(t, s, httpRequest("POST", "/users", `{"name":42,"email":"x","admin":true}`, bearer("sloppy", "users:write")...))
	var problem struct {
		Status int
		Errors []struct{ Pointer string }
	}
	if err := json.Unmarshal([]byte(bad.Body), &problem); err != nil || bad.StatusCode != http.StatusBadRequest ||
		bad.Headers["Content-Type"] != "application/problem+json" || fmt.Sprint(problem.Errors) != "[{/} {/email} {/name}]" {
		t.Errorf("a body against the schema: got %d %v %s, want a 400 problem pointing at /, /email and /name", bad.StatusCode, bad.Headers, bad.Body)
	}

	throttled := bearer("throttled", "users:read")
	for i := range 5 {
		if r := httpResponse(t, s, httpRequest("GET", "/users/00000000-0000-4000-8000-000000000000", "", throttled...)); r.StatusCode != http.StatusNotFound {
			t.Fatalf("request %d within the limit: got %d %s, want 404", i+1, r.StatusCode, r.Body)
		}
	}
	r := httpResponse(t, s, httpRequest("GET", "/users/00000000-0000-4000-8000-000000000000", "", throttled...))
	if retry, err := strconv.Atoi(r.Headers["Retry-After"]); r.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 {
		t.Errorf("the 6th request of 5/h: got %d %v, want 429 with Retry-After", r.StatusCode, r.Headers)
	}
}

// TestUsersRefusesWithoutAuthentication starts the users bootstrap with its
// bucket but no issuer: the invocation gets Lambda's init error, a
// configuration error that names the variables, and nothing is served.
func TestUsersRefusesWithoutAuthentication(t *testing.T) {
	s := serve(t, "users", "USERS_BUCKET_URL="+fileURL(t.TempDir()))
	payload, err := json.Marshal(httpRequest("GET", "/users/00000000-0000-4000-8000-000000000000", ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := s.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if r.FunctionError == "" {
		t.Fatalf("the function served without authentication configured: %s", r.Payload)
	}
	for _, want := range []string{"Runtime.ConfigInvalid", "USERS_OIDC_AUDIENCE", "USERS_OIDC_ISSUER"} {
		if !strings.Contains(string(r.Payload), want) {
			t.Errorf("the init error %s does not name %s", r.Payload, want)
		}
	}
}

func TestThumbnailsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := serve(t, "thumbnails", "MEDIA_BUCKET_URL="+fileURL(dir), "THUMBNAILS_TOPIC_URL=mem://thumbnails")

	bucket, err := blob.OpenBucket(t.Context(), fileURL(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	var img bytes.Buffer
	src := image.NewRGBA(image.Rect(0, 0, 600, 400))
	for x := range 600 {
		src.Set(x, x%400, color.RGBA{R: 200, A: 255})
	}
	if err := png.Encode(&img, src); err != nil {
		t.Fatal(err)
	}
	const key = "uploads/café cat+1.png"
	if err := bucket.WriteAll(t.Context(), key, img.Bytes(), nil); err != nil {
		t.Fatal(err)
	}

	// S3 sends the key form-encoded: a space is "+", a plus "%2B".
	event := events.S3Event{Records: []events.S3EventRecord{{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1", EventTime: time.Now().UTC(),
		EventName: "ObjectCreated:Put",
		S3: events.S3Entity{
			Bucket: events.S3Bucket{Name: "media", Arn: "arn:aws:s3:::media"},
			Object: events.S3Object{Key: "uploads/caf%C3%A9+cat%2B1.png", Size: int64(img.Len()), Sequencer: "0A1B2C3D4E5F678901"},
		},
	}}}
	if out := invoke(t, s, event); string(out) != "null" {
		t.Errorf("reply: got %s, want null", out)
	}
	thumb, err := bucket.ReadAll(t.Context(), "thumbnails/café cat+1.png")
	if err != nil {
		t.Fatalf("the thumbnail was not written: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || cfg.Width != 256 || cfg.Height != 171 {
		t.Errorf("thumbnail: %dx%d, %v; want 256x171", cfg.Width, cfg.Height, err)
	}
}

func TestOrdersEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := serve(t, "orders", "ORDERS_BUCKET_URL="+fileURL(dir))

	message := func(id, body string) events.SQSMessage {
		return events.SQSMessage{
			MessageId: id, Body: body, EventSource: "aws:sqs", AWSRegion: "us-east-2",
			EventSourceARN: "arn:aws:sqs:us-east-2:123456789012:orders",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
		}
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{
		message("m-1", `{"id":"o-1","customer":"c-1","items":[{"sku":"a","quantity":1}],"total":5}`),
		message("m-2", `{"id":"o-2","customer":"","items":[]}`),
		message("m-3", `{"id":"o-3","customer":"c-3","items":[{"sku":"b","quantity":2}],"total":7.5}`),
	}}
	var resp events.SQSEventResponse
	if out := invoke(t, s, batch); json.Unmarshal(out, &resp) != nil {
		t.Fatalf("reply %s is not a batch response", out)
	}
	want := []events.SQSBatchItemFailure{{ItemIdentifier: "m-2"}}
	if fmt.Sprint(resp.BatchItemFailures) != fmt.Sprint(want) {
		t.Errorf("batchItemFailures: got %+v, want %+v", resp.BatchItemFailures, want)
	}
	for _, id := range []string{"o-1", "o-3"} {
		if _, err := os.Stat(filepath.Join(dir, "orders", id+".json")); err != nil {
			t.Errorf("order %s was not recorded: %v", id, err)
		}
	}
}

// closingGreeter is usermodule.Greeter with a shut-down hook that writes
// the file $CLOSED_FILE.
var closingGreeter = map[string]string{
	"greeter/greeter.go": strings.NewReplacer(
		"\t\"net/http\"\n", "\t\"net/http\"\n\t\"context\"\n\t\"os\"\n",
		"\treturn app\n", "\tapp.OnClose(func(context.Context) error { return os.WriteFile(os.Getenv(\"CLOSED_FILE\"), nil, 0o644) })\n\treturn app\n",
	).Replace(usermodule.Greeter["greeter/greeter.go"]),
	"cmd/greeter/main.go": usermodule.Greeter["cmd/greeter/main.go"],
}

// TestSIGTERMOnlyWithCloseHooks: a function with shut-down hooks registers
// the extension that makes Lambda send SIGTERM, and its hooks run when the
// environment stops; a function without any registers nothing, sparing
// its cold start the round trip.
func TestSIGTERMOnlyWithCloseHooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two bootstraps in a user's module; skipped with -short")
	}
	event := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/hello/ada",
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/hello/ada"},
		},
	}
	for _, tt := range []struct {
		name      string
		files     map[string]string
		wantClose bool
	}{
		{"no hooks", usermodule.Greeter, false},
		{"close hook", closingGreeter, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bin := filepath.Join(t.TempDir(), "bootstrap")
			if err := usermodule.New(t, tt.files).Build("./cmd/greeter", "aws,lambda.norpc", bin); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(t.TempDir(), "closed")
			s, err := runtimeapi.Start(t.Context(), "127.0.0.1:0", &runtimeapi.Options{
				Bootstrap: bin, FunctionName: "greeter", Env: []string{"CLOSED_FILE=" + marker}, Timeout: 20 * time.Second,
				Stdout: io.Discard, Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			invoke(t, s, event)
			if got := s.ExtensionRegistered(); got != tt.wantClose {
				t.Errorf("extension registered: %v, want %v", got, tt.wantClose)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = os.Stat(marker)
			if closed := err == nil; closed != tt.wantClose {
				t.Errorf("close hook ran: %v, want %v", closed, tt.wantClose)
			}
		})
	}
}

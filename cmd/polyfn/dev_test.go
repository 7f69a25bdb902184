package main

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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// buildPolyfn builds the CLI once per test binary.
func buildPolyfn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "polyfn")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// devProcess is a running `polyfn dev`.
type devProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	done chan error
}

// startDev runs `polyfn dev` on data with env (NAME=value) added to its
// environment.
func startDev(t *testing.T, bin, data string, env ...string) *devProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "dev", "--addr", addr, "--data", data, "--log-format", "json", "--issuer-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, url: "http://" + addr, logs: logs, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.url + "/_polyfn/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("polyfn dev exited early: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("polyfn dev not ready after 15s\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean, drained exit.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("polyfn dev exited with %v after SIGTERM\n%s", err, p.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("polyfn dev did not stop within 15s of SIGTERM\n%s", p.logs)
	}
}

// devToken runs `polyfn token` for the polyfn dev serving data, as the README
// shows, and returns the Authorization header of the token it prints.
func devToken(t *testing.T, bin, data, sub, scope string) string {
	t.Helper()
	out, err := exec.Command(bin, "token", "--data", data, "--sub", sub, "--scope", scope).Output()
	if err != nil {
		t.Fatalf("polyfn token: %v", err)
	}
	return "Bearer " + strings.TrimSpace(string(out))
}

// call sends a request with the headers (name, value, …) and returns the
// status and the decoded JSON body.
func call(t *testing.T, method, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	code, _, v := callFull(t, method, url, body, header...)
	return code, v
}

// callFull is call that returns the response headers too.
func callFull(t *testing.T, method, url, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, url, b, err)
		}
	}
	return resp.StatusCode, resp.Header, v
}

// TestDevUsersEndToEnd runs the real CLI: create, read and validate users
// with a token from `polyfn token`, then restart the server and find the
// user still there.
func TestDevUsersEndToEnd(t *testing.T) {
	bin := buildPolyfn(t)
	data := t.TempDir()
	p := startDev(t, bin, data)
	authz := devToken(t, bin, data, "ada", "users:read users:write")

	code, created := call(t, "POST", p.url+"/users", `{"name":"Ada Lovelace","email":"ada@example.com"}`, "Authorization", authz)
	if code != 201 {
		t.Fatalf("POST /users = %d %v, want 201", code, created)
	}
	id, _ := created["id"].(string)
	if id == "" || created["name"] != "Ada Lovelace" || created["email"] != "ada@example.com" {
		t.Fatalf("created = %v", created)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(created["createdAt"])); err != nil {
		t.Errorf("createdAt %v is not RFC 3339: %v", created["createdAt"], err)
	}
	if code, body := call(t, "POST", p.url+"/users", `{"name":"","email":"not-an-email"}`, "Authorization", authz); code != 400 || body["status"] != float64(400) {
		t.Errorf("invalid POST = %d %v, want a 400 problem", code, body)
	}
	if code, got := call(t, "GET", p.url+"/users/"+id, "", "Authorization", authz); code != 200 || fmt.Sprint(got) != fmt.Sprint(created) {
		t.Errorf("GET = %d %v, want 200 %v", code, got, created)
	}
	if code, _ := call(t, "GET", p.url+"/users/6f1c1a9e-3b8e-4c55-9d6e-2b1f0f3c9a11", "", "Authorization", authz); code != 404 {
		t.Errorf("GET unknown = %d, want 404", code)
	}
	p.stop(t)
	if !strings.Contains(p.logs.String(), `"msg":"http request"`) {
		t.Errorf("no structured invocation log line:\n%s", p.logs)
	}

	// The issuer moved to another port: tokens are issued anew.
	p = startDev(t, bin, data)
	authz = devToken(t, bin, data, "ada", "users:read")
	if code, got := call(t, "GET", p.url+"/users/"+id, "", "Authorization", authz); code != 200 || fmt.Sprint(got) != fmt.Sprint(created) {
		t.Errorf("after restart: GET = %d %v, want 200 %v", code, got, created)
	}
	p.stop(t)
}

// TestDevUsersPolicies checks the users function's gateway policies in the
// real CLI: its development issuer's tokens, an API key from the local key
// list, the rate limit from USERS_RATE_LIMIT, Idempotency-Key and the
// request schema.
func TestDevUsersPolicies(t *testing.T) {
	bin := buildPolyfn(t)
	data := t.TempDir()
	// The local default of USERS_API_KEYS_URL is this file.
	keys := filepath.Join(data, "variables", "users-api-keys")
	if err := os.MkdirAll(filepath.Dir(keys), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, authtest.KeyList(authtest.Key{Name: "importer", Secret: "importer-secret"}), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startDev(t, bin, data, "USERS_RATE_LIMIT=5/h")
	users := p.url + "/users"
	const ada = `{"name":"Ada Lovelace","email":"ada@example.com"}`

	code, header, body := callFull(t, "POST", users, ada)
	if code != 401 || header.Get("WWW-Authenticate") != `Bearer realm="polyfn"` || body["status"] != float64(401) {
		t.Errorf("no token: %d %v %v, want a 401 problem with a Bearer challenge", code, header.Get("WWW-Authenticate"), body)
	}
	code, header, body = callFull(t, "POST", users, ada, "Authorization", devToken(t, bin, data, "reader", "users:read"))
	if code != 403 || !strings.Contains(header.Get("WWW-Authenticate"), `error="insufficient_scope", scope="users:write"`) {
		t.Errorf("a token without users:write: %d %v %v, want 403 insufficient_scope", code, header.Get("WWW-Authenticate"), body)
	}
	if code, body := call(t, "POST", users, ada, "X-API-Key", "importer-secret"); code != 201 || body["name"] != "Ada Lovelace" {
		t.Errorf("an API key: %d %v, want 201", code, body)
	}

	writer := devToken(t, bin, data, "writer", "users:read users:write")
	code, first := call(t, "POST", users, ada, "Authorization", writer, "Idempotency-Key", "k-1")
	code2, header, again := callFull(t, "POST", users, ada, "Authorization", writer, "Idempotency-Key", "k-1")
	if code != 201 || code2 != 201 || first["id"] == nil || fmt.Sprint(again) != fmt.Sprint(first) || header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retried Idempotency-Key: %d %v then %d %v (replayed %q), want the same user twice",
			code, first, code2, again, header.Get("Idempotent-Replayed"))
	}

	code, header, body = callFull(t, "POST", users, `{"name":42,"email":"x","admin":true}`, "Authorization", devToken(t, bin, data, "sloppy", "users:write"))
	var pointers []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		v, _ := e.(map[string]any)
		pointers = append(pointers, fmt.Sprint(v["pointer"]))
	}
	if code != 400 || header.Get("Content-Type") != "application/problem+json" || fmt.Sprint(pointers) != "[/ /email /name]" {
		t.Errorf("a body against the schema: %d %s %v, want a 400 problem pointing at /, /email and /name", code, header.Get("Content-Type"), body)
	}

	throttled := devToken(t, bin, data, "throttled", "users:read")
	for i := range 5 {
		if code, body := call(t, "GET", users+"/6f1c1a9e-3b8e-4c55-9d6e-2b1f0f3c9a11", "", "Authorization", throttled); code != 404 {
			t.Fatalf("request %d within the limit: %d %v, want 404", i+1, code, body)
		}
	}
	code, header, body = callFull(t, "GET", users+"/6f1c1a9e-3b8e-4c55-9d6e-2b1f0f3c9a11", "", "Authorization", throttled)
	if retry, err := strconv.Atoi(header.Get("Retry-After")); code != 429 || err != nil || retry < 1 {
		t.Errorf("the 6th request of 5/h: %d, Retry-After %q, %v; want 429 with Retry-After", code, header.Get("Retry-After"), body)
	}
	if code, _ := call(t, "GET", users+"/6f1c1a9e-3b8e-4c55-9d6e-2b1f0f3c9a11", "", "Authorization", devToken(t, bin, data, "other", "users:read")); code != 404 {
		t.Errorf("another caller: %d, want 404 (limits are per caller)", code)
	}
	p.stop(t)
}

var topicSeq atomic.Int64

// startExamples runs the example apps in-process on the local runtime, with
// in-memory topics of their own (they are shared process-wide).
func startExamples(t *testing.T) (*local.Runtime, map[string]string) {
	t.Helper()
	n := topicSeq.Add(1)
	env := map[string]string{
		"THUMBNAILS_TOPIC_URL": fmt.Sprintf("mem://thumbnails-%d", n),
		"ORDERS_TOPIC_URL":     fmt.Sprintf("mem://orders-%d", n),
	}
	data := t.TempDir()
	iss, err := local.StartIssuer(t.Context(), data, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iss.Close() })
	rt, err := local.New(exampleApps(), &local.Options{
		Addr: "127.0.0.1:0", DataDir: data, OIDCIssuer: iss.URL,
		Lookup:       func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Settle:       20 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond,
	})
	if err == nil {
		err = rt.Start(t.Context())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return rt, env
}

// TestDevThumbnailsEndToEnd writes uploads/cat.png to the local media bucket
// and expects thumbnails/cat.png at the right size and a message on the topic.
func TestDevThumbnailsEndToEnd(t *testing.T) {
	rt, env := startExamples(t)
	ctx := t.Context()
	sub, err := pubsub.OpenSubscription(ctx, env["THUMBNAILS_TOPIC_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(context.Background())

	media, err := blob.OpenBucket(ctx, rt.Env("thumbnails")("MEDIA_BUCKET_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 800))
	for x := range 1200 {
		img.Set(x, x%800, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := media.WriteAll(ctx, "uploads/cat.png", buf.Bytes(), &blob.WriterOptions{ContentType: "image/png"}); err != nil {
		t.Fatal(err)
	}
	// A non-image upload is skipped, not retried.
	if err := media.WriteAll(ctx, "uploads/notes.txt", []byte("just text"), nil); err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := sub.Receive(rctx)
	if err != nil {
		t.Fatalf("no thumbnail message: %v", err)
	}
	msg.Ack()
	var note map[string]any
	if err := json.Unmarshal(msg.Body, &note); err != nil {
		t.Fatalf("message %q: %v", msg.Body, err)
	}
	if !strings.Contains(string(msg.Body), "thumbnails/cat.png") || !strings.Contains(string(msg.Body), "uploads/cat.png") {
		t.Errorf("message %s does not name the upload and the thumbnail", msg.Body)
	}
	r, err := media.NewReader(ctx, "thumbnails/cat.png", nil)
	if err != nil {
		t.Fatalf("thumbnail not written: %v", err)
	}
	thumb, format, err := image.Decode(r)
	r.Close()
	if err != nil || format != "png" {
		t.Fatalf("thumbnail decode: %v (format %q)", err, format)
	}
	if b := thumb.Bounds(); b.Dx() != 256 || b.Dy() != 171 {
		t.Errorf("thumbnail is %dx%d, want 256x171", b.Dx(), b.Dy())
	}
	if ok, _ := media.Exists(ctx, "thumbnails/notes.txt"); ok {
		t.Error("a thumbnail was made of a text file")
	}
	if rt.DeadLetters() != 0 {
		t.Errorf("dead letters = %d, want 0: a non-image is skipped, not failed", rt.DeadLetters())
	}
}

// TestDevOrdersEndToEnd publishes orders A, B, a malformed one and A again:
// exactly two orders are recorded and exactly one failure is reported.
func TestDevOrdersEndToEnd(t *testing.T) {
	rt, _ := startExamples(t)
	orderA := `{"id":"A-1","customer":"c-7","items":[{"sku":"tea","quantity":2}],"total":9.5}`
	orderB := `{"id":"B-2","customer":"c-8","items":[{"sku":"cup","quantity":1}],"total":4}`
	for _, body := range []string{orderA, orderB, `{"id":"M-3","items":[]}`, orderA} {
		resp, err := http.Post(rt.URL()+"/_polyfn/topics/orders", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("publish = %d, want 202", resp.StatusCode)
		}
	}
	bucket, err := blob.OpenBucket(t.Context(), rt.Env("orders")("ORDERS_BUCKET_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	list := func() []string {
		var keys []string
		it := bucket.List(&blob.ListOptions{Prefix: "orders/"})
		for {
			obj, err := it.Next(t.Context())
			if err == io.EOF {
				return keys
			}
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, obj.Key)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(list()) >= 2 && rt.DeadLetters() >= 1 {
			break
		}
	}
	// Let a wrongly duplicated record or failure show up, and the repeated
	// A-1 finish: while its record is rewritten, the bucket also holds the
	// write's temporary file (fileblob writes beside the object).
	time.Sleep(200 * time.Millisecond)
	keys := list()
	if got := fmt.Sprint(keys); got != "[orders/A-1.json orders/B-2.json]" {
		t.Errorf("recorded %s, want A-1 and B-2 once each", got)
	}
	if got := rt.DeadLetters(); got != 1 {
		t.Errorf("failures = %d, want exactly 1 (the malformed order)", got)
	}
}

// TestDevUsage covers the CLI's argument handling.
func TestDevUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{nil, 2, "Usage:"},
		{[]string{"help"}, 0, "polyfn dev"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"dev", "--log-format", "xml"}, 2, "--log-format must be text or json"},
		{[]string{"dev", "extra"}, 2, "unexpected arguments"},
		{[]string{"dev", "--addr", "256.0.0.1:1", "--issuer-addr", "127.0.0.1:0"}, 1, "listen"},
		{[]string{"token"}, 2, "--sub is required"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append(tt.args, dataFlag(t, tt.args)...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.wantOut) {
				t.Errorf("output does not contain %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

// dataFlag keeps dev runs out of the working directory.
func dataFlag(t *testing.T, args []string) []string {
	if len(args) > 0 && args[0] == "dev" && !contains(args, "extra") {
		return []string{"--data", t.TempDir()}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// The end-to-end tests build the example functions with -tags gcp and run
// each as a child process under the real Functions Framework on 127.0.0.1,
// as Cloud Run would (FUNCTION_TARGET, PORT), and send it real requests.

// examples are the example functions, built together with the cold-start
// benchmark's testdata/hello and testdata/usersnodrivers: one go command
// links them in parallel.
var examples = []string{"users", "thumbnails", "orders"}

var binaries struct {
	once sync.Once
	dir  string // removed by TestMain
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// binary returns the program name, an example function or a testdata
// program, built with -tags gcp.
func binary(tb testing.TB, name string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds the example functions; skipped with -short")
	}
	binaries.once.Do(func() {
		if binaries.dir, binaries.err = os.MkdirTemp("", "gcpfunctions-e2e-"); binaries.err != nil {
			return
		}
		pkgs := []string{"./testdata/hello", "./testdata/usersnodrivers", "./testdata/rawusers", "./testdata/adapterread"}
		for _, e := range examples {
			pkgs = append(pkgs, "github.com/polyfn/polyfn/cmd/"+e)
		}
		binaries.err = goBuild(binaries.dir+string(filepath.Separator), pkgs...)
	})
	if binaries.err != nil {
		tb.Fatal(binaries.err)
	}
	return filepath.Join(binaries.dir, name)
}

// goBuild builds pkgs with -tags gcp, static and stripped as `polyfn build`
// builds a deployment.
func goBuild(out string, pkgs ...string) error {
	args := append([]string{"build", "-tags", "gcp", "-trimpath", "-ldflags=-s -w", "-o", out}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, output)
	}
	return nil
}

// child is a function running as a child process.
type child struct {
	cmd  *exec.Cmd
	url  string
	logs *emulators.SyncBuffer // stdout and stderr, read while it runs
	done chan error
}

// startFunction runs the example function name, serving the entry point
// target, with env added to the environment.
func startFunction(t *testing.T, name, target string, env ...string) *child {
	t.Helper()
	bin := binary(t, name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(withoutFunctionTarget(os.Environ()), append(env, "FUNCTION_TARGET="+target, "POLYFN_ADDR="+addr)...)
	c := &child{cmd: cmd, url: "http://" + addr, logs: &emulators.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, c.logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("%s exited early: %v", name, err)
		default:
		}
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not listening after 10s", name)
		}
	}
}

func withoutFunctionTarget(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "FUNCTION_TARGET=") && !strings.HasPrefix(kv, "POLYFN_ADDR=") {
			out = append(out, kv)
		}
	}
	return out
}

// stop sends SIGTERM, as Cloud Run does, and expects a clean exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("still running 10s after SIGTERM")
	}
}

func fileBucket(dir string) string { return "file://" + dir + "?no_tmp_dir=true" }

// usersEnv is the environment of the users function on a bucket in dir
// that trusts iss, with vars (NAME=value) added.
func usersEnv(dir string, iss *authtest.Issuer, vars ...string) []string {
	return append([]string{"USERS_BUCKET_URL=" + fileBucket(dir), "USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience}, vars...)
}

func TestUsersEndToEnd(t *testing.T) {
	iss := authtest.NewIssuer(t)
	c := startFunction(t, "users", "users", usersEnv(t.TempDir(), iss)...)
	authz := iss.Bearer(t, "ada", "users:read", "users:write")
	status, body := do(t, newRequest(t, http.MethodPost, c.url+"/users",
		[]byte(`{"name":"Ada Lovelace","email":"ada@example.com"}`), "Content-Type", "application/json", "Authorization", authz))
	if status != http.StatusCreated {
		t.Fatalf("POST /users: %d %s", status, body)
	}
	var user struct{ ID, Name string }
	if err := json.Unmarshal(body, &user); err != nil || user.Name != "Ada Lovelace" {
		t.Fatalf("POST /users answered %s (%v)", body, err)
	}
	tests := []struct {
		name, method, path, contentType, body string
		want                                  int
	}{
		{"read the user", http.MethodGet, "/users/" + user.ID, "", "", http.StatusOK},
		{"unknown user", http.MethodGet, "/users/6c792c37-a1d3-4387-a78a-267a711a9c3e", "", "", http.StatusNotFound},
		{"invalid user", http.MethodPost, "/users", "application/json", `{"name":""}`, http.StatusBadRequest},
		{"not JSON", http.MethodPost, "/users", "text/plain", "hi", http.StatusUnsupportedMediaType},
		{"no such route", http.MethodGet, "/nothing", "", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		status, body := do(t, newRequest(t, tt.method, c.url+tt.path, []byte(tt.body), "Content-Type", tt.contentType, "Authorization", authz))
		if status != tt.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, status, body, tt.want)
		}
		if status == http.StatusOK && !bytes.Contains(body, []byte(user.ID)) {
			t.Errorf("%s: body %s lacks the user", tt.name, body)
		}
	}
	c.stop(t)
}

// doFull is do that returns the response headers too.
func doFull(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// TestUsersPoliciesEndToEnd checks the users function's gateway policies
// through the -tags gcp build under the real Functions Framework, with the
// issuer's keys read from a file (USERS_JWKS_URL), as an air-gapped
// deployment would.
func TestUsersPoliciesEndToEnd(t *testing.T) {
	iss := authtest.NewIssuer(t)
	keys := authtest.KeyListURL(t, authtest.Key{Name: "importer", Secret: "importer-secret"})
	c := startFunction(t, "users", "users", usersEnv(t.TempDir(), iss,
		"USERS_JWKS_URL="+iss.JWKSURL, "USERS_API_KEYS_URL="+keys, "USERS_RATE_LIMIT=5/h")...)
	users := c.url + "/users"
	ada := []byte(`{"name":"Ada Lovelace","email":"ada@example.com"}`)
	post := func(body []byte, header ...string) (int, http.Header, []byte) {
		t.Helper()
		return doFull(t, newRequest(t, http.MethodPost, users, body, append([]string{"Content-Type", "application/json"}, header...)...))
	}
	bearer := func(sub string, scopes ...string) string { return iss.Bearer(t, sub, scopes...) }

	if status, h, body := post(ada); status != http.StatusUnauthorized || h.Get("WWW-Authenticate") != `Bearer realm="polyfn"` ||
		h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("no token: %d %v %s, want a 401 problem with a Bearer challenge", status, h, body)
	}
	if status, h, body := post(ada, "Authorization", bearer("reader", "users:read")); status != http.StatusForbidden ||
		!strings.Contains(h.Get("WWW-Authenticate"), `error="insufficient_scope", scope="users:write"`) {
		t.Errorf("a token without users:write: %d %v %s, want 403 insufficient_scope", status, h, body)
	}
	if status, _, body := post(ada, "X-API-Key", "importer-secret"); status != http.StatusCreated {
		t.Errorf("an API key: %d %s, want 201", status, body)
	}

	writer := bearer("writer", "users:read", "users:write")
	status, _, first := post(ada, "Authorization", writer, "Idempotency-Key", "k-1")
	status2, h, again := post(ada, "Authorization", writer, "Idempotency-Key", "k-1")
	if status != http.StatusCreated || status2 != http.StatusCreated || !bytes.Equal(again, first) || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retried Idempotency-Key: %d %s then %d %s %v, want the same user replayed", status, first, status2, again, h)
	}

	status, h, body := post([]byte(`{"name":42,"email":"x","admin":true}`), "Authorization", bearer("sloppy", "users:write"))
	var problem struct {
		Errors []struct{ Pointer string }
	}
	if err := json.Unmarshal(body, &problem); err != nil || status != http.StatusBadRequest ||
		h.Get("Content-Type") != "application/problem+json" || fmt.Sprint(problem.Errors) != "[{/} {/email} {/name}]" {
		t.Errorf("a body against the schema: %d %v %s, want a 400 problem pointing at /, /email and /name", status, h, body)
	}

	throttled := bearer("throttled", "users:read")
	unknown := users + "/6c792c37-a1d3-4387-a78a-267a711a9c3e"
	for i := range 5 {
		if status, body := do(t, newRequest(t, http.MethodGet, unknown, nil, "Authorization", throttled)); status != http.StatusNotFound {
			t.Fatalf("request %d within the limit: %d %s, want 404", i+1, status, body)
		}
	}
	status, h, body = doFull(t, newRequest(t, http.MethodGet, unknown, nil, "Authorization", throttled))
	if retry, err := strconv.Atoi(h.Get("Retry-After")); status != http.StatusTooManyRequests || err != nil || retry < 1 {
		t.Errorf("the 6th request of 5/h: %d %v %s, want 429 with Retry-After", status, h, body)
	}
	c.stop(t)
}

// TestUsersRefusesWithoutAuthentication runs the users function with its
// bucket but no issuer: it must exit before serving, naming the variables.
func TestUsersRefusesWithoutAuthentication(t *testing.T) {
	cmd := exec.Command(binary(t, "users"))
	cmd.Env = append(withoutFunctionTarget(os.Environ()), "FUNCTION_TARGET=users", "POLYFN_ADDR=127.0.0.1:0",
		"USERS_BUCKET_URL="+fileBucket(t.TempDir()))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the function exited cleanly without authentication configured:\n%s", out)
	}
	for _, v := range []string{"USERS_OIDC_AUDIENCE", "USERS_OIDC_ISSUER"} {
		if !bytes.Contains(out, []byte(v)) {
			t.Errorf("the output does not name %s:\n%s", v, out)
		}
	}
}

// TestThumbnailsEndToEnd runs thumbnails against the Cloud Storage and
// Pub/Sub protocols: the binary reads the upload from and writes the
// thumbnail to fake-gcs-server through gcsblob, and publishes to pstest
// through gcppubsub (STORAGE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST).
func TestThumbnailsEndToEnd(t *testing.T) {
	withPeers(t)
	ctx := t.Context()
	c := startFunction(t, "thumbnails", "make-thumbnail",
		"MEDIA_BUCKET_URL=gs://media", "THUMBNAILS_TOPIC_URL=gcppubsub://projects/"+project+"/topics/thumbnails-e2e")
	media, err := blob.OpenBucket(ctx, "gs://media")
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	sub, err := pubsub.OpenSubscription(ctx, "gcppubsub://projects/"+project+"/subscriptions/thumbnails-e2e-check")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(context.WithoutCancel(ctx))

	object := func(name string) []byte {
		return []byte(fmt.Sprintf(`{"kind":"storage#object","bucket":"media","name":%q,"size":"100","contentType":"image/png"}`, name))
	}
	source := "//storage.googleapis.com/projects/_/buckets/media"
	tests := []struct {
		name, image string
		request     func(image string) ([]byte, []string)
	}{
		{"binary CloudEvent", "e2e-cat.png", func(image string) ([]byte, []string) {
			return binaryMode(typeFinal, source, "objects/uploads/"+image, "application/json", object("uploads/"+image))
		}},
		{"structured CloudEvent", "e2e-dog.png", func(image string) ([]byte, []string) {
			return structured(t, typeFinal, source, "objects/uploads/"+image, "application/json", object("uploads/"+image))
		}},
		{"legacy background event, name with + and space", "e2e-bird+1 (copy).png", func(image string) ([]byte, []string) {
			b, _ := json.Marshal(map[string]any{
				"context": map[string]any{"eventId": "1147091835525187", "timestamp": "2026-11-21T10:30:00Z",
					"eventType": "google.storage.object.finalize",
					"resource":  map[string]any{"service": "storage.googleapis.com", "name": "projects/_/buckets/media/objects/uploads/" + image, "type": "storage#object"}},
				"data": json.RawMessage(object("uploads/" + image)),
			})
			return b, []string{"Content-Type", "application/json"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := media.WriteAll(ctx, "uploads/"+tt.image, pngOf(t, 600, 300), nil); err != nil {
				t.Fatal(err)
			}
			body, headers := tt.request(tt.image)
			if status, resp := do(t, newRequest(t, http.MethodPost, c.url+"/", body, headers...)); status != http.StatusOK {
				t.Fatalf("status %d: %s", status, resp)
			}
			thumb, err := media.ReadAll(ctx, "thumbnails/"+tt.image)
			if err != nil {
				t.Fatalf("no thumbnail in the bucket: %v", err)
			}
			if cfg, err := png.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != 256 || cfg.Height != 128 {
				t.Errorf("thumbnail %dx%d (%v), want 256x128", cfg.Width, cfg.Height, err)
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			msg, err := sub.Receive(rctx)
			if err != nil {
				t.Fatalf("no message on the topic: %v", err)
			}
			msg.Ack()
			if !bytes.Contains(msg.Body, []byte(`"thumbnailKey":"thumbnails/`+tt.image+`"`)) {
				t.Errorf("message %s, want the thumbnail of %s", msg.Body, tt.image)
			}
		})
	}
	t.Run("outside the trigger's prefix", func(t *testing.T) {
		body, headers := binaryMode(typeFinal, source, "", "application/json", object("other/x.png"))
		if status, _ := do(t, newRequest(t, http.MethodPost, c.url+"/", body, headers...)); status != http.StatusOK {
			t.Errorf("status %d, want 200", status)
		}
		if ok, _ := media.Exists(ctx, "thumbnails/x.png"); ok {
			t.Error("a thumbnail was made of an object outside uploads/")
		}
	})
	t.Run("malformed data", func(t *testing.T) {
		body, headers := binaryMode(typeFinal, source, "", "application/json", []byte(`{"bucket":"media"}`))
		if status, _ := do(t, newRequest(t, http.MethodPost, c.url+"/", body, headers...)); status != http.StatusAccepted {
			t.Errorf("status %d, want 202", status)
		}
	})
	c.stop(t)
}

func TestOrdersEndToEnd(t *testing.T) {
	dir := t.TempDir()
	c := startFunction(t, "orders", "record-order", "ORDERS_BUCKET_URL="+fileBucket(dir))
	order := func(id string) string {
		return `{"id":"` + id + `","customer":"Ada","items":[{"sku":"TEA-01","quantity":2}],"total":9.5}`
	}
	published := func(id, body string) []byte {
		return []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(body)) + `","messageId":"` + id +
			`","publishTime":"2026-11-21T10:30:00Z"},"subscription":"projects/p/subscriptions/orders"}`)
	}
	tests := []struct {
		name, path, id string
		request        func(id string) ([]byte, []string)
		want           int
	}{
		{"binary CloudEvent", "/", "A-1", func(id string) ([]byte, []string) {
			return binaryMode(typePublish, topicSource, "", "application/json", published(id, order(id)))
		}, http.StatusOK},
		{"structured CloudEvent", "/", "A-2", func(id string) ([]byte, []string) {
			return structured(t, typePublish, topicSource, "", "application/json", published(id, order(id)))
		}, http.StatusOK},
		{"plain Pub/Sub push request", "/projects/p/topics/orders", "A-3", func(id string) ([]byte, []string) {
			return published(id, order(id)), []string{"Content-Type", "application/json"}
		}, http.StatusOK},
		{"legacy background event", "/", "A-4", func(id string) ([]byte, []string) {
			b, _ := json.Marshal(map[string]any{
				"context": map[string]any{"eventId": id, "timestamp": "2026-11-21T10:30:00Z", "eventType": "google.pubsub.topic.publish",
					"resource": map[string]any{"service": "pubsub.googleapis.com", "name": "projects/p/topics/orders"}},
				"data": map[string]any{"data": base64.StdEncoding.EncodeToString([]byte(order(id)))},
			})
			return b, []string{"Content-Type", "application/json"}
		}, http.StatusOK},
		{"redelivered: acknowledged again", "/", "A-1", func(id string) ([]byte, []string) {
			return binaryMode(typePublish, topicSource, "", "application/json", published(id, order(id)))
		}, http.StatusOK},
		{"invalid order: acknowledged, not retried", "/", "B-1", func(id string) ([]byte, []string) {
			return binaryMode(typePublish, topicSource, "", "application/json", published(id, `{"id":"B-1"}`))
		}, http.StatusAccepted},
		{"same id, other contents: acknowledged, not retried", "/", "A-1", func(id string) ([]byte, []string) {
			return binaryMode(typePublish, topicSource, "", "application/json", published(id, strings.Replace(order(id), "9.5", "10", 1)))
		}, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, headers := tt.request(tt.id)
			if status, resp := do(t, newRequest(t, http.MethodPost, c.url+tt.path, body, headers...)); status != tt.want {
				t.Fatalf("status %d: %s, want %d", status, resp, tt.want)
			}
			stored, err := os.ReadFile(filepath.Join(dir, "orders", tt.id+".json"))
			if tt.want == http.StatusOK && (err != nil || string(stored) != order(tt.id)) {
				t.Errorf("recorded %s (%v), want %s", stored, err, order(tt.id))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "orders", "B-1.json")); err == nil {
		t.Error("an invalid order was recorded")
	}
	c.stop(t)
}

package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/internal/emulators"
)

var functionURLPattern = regexp.MustCompile(`function URL \(RESPONSE_STREAM\) on (http://\S+/)`)

// TestLambdaServeFunctionURL runs the AWS adapter's streaming test app, as
// the real -tags aws bootstrap, under `polyfn lambda serve --url`: a plain
// HTTP client of the function URL reads the first event while the handler
// still waits for it to be read.
func TestLambdaServeFunctionURL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a bootstrap; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "aws,lambda.norpc", "-o", bin, "../../adapters/awslambda/testdata/streaming")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	read := make(chan struct{})
	release := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-read:
		case <-r.Context().Done():
		}
	}))
	defer release.Close()

	ctx, cancel := context.WithCancel(t.Context())
	serveOut, serveErr := &emulators.SyncBuffer{}, &emulators.SyncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"lambda", "serve", "--bootstrap", bin, "--addr", "127.0.0.1:0", "--url", "127.0.0.1:0",
			"--name", "streaming", "--env", "STREAM_RELEASE_URL=" + release.URL}, serveOut, serveErr)
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
	var url string
	deadline := time.After(10 * time.Second)
	for url == "" {
		if m := functionURLPattern.FindStringSubmatch(serveOut.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-exited:
			t.Fatalf("polyfn lambda serve exited with %d", code)
		case <-deadline:
			t.Fatalf("polyfn lambda serve did not announce its function URL:\n%s", serveOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}

	rctx, rcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer rcancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if first, err := br.ReadString('\n'); err != nil || first != "data: first\n" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("first line %q, %v, type %q", first, err, resp.Header.Get("Content-Type"))
	}
	close(read)
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "\ndata: released\n\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
}

func TestLambdaServeURLMode(t *testing.T) {
	var stdout, stderr emulators.SyncBuffer
	code := run(t.Context(), []string{"lambda", "serve", "--bootstrap", "/nonexistent/bootstrap", "--url", "127.0.0.1:0", "--url-mode", "LATER"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), `--url-mode "LATER": want RESPONSE_STREAM or BUFFERED`) {
		t.Errorf("exit %d, stderr %s; want the mode refused", code, stderr.String())
	}
}

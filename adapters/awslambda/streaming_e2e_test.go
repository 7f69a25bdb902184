package awslambda_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
)

// TestStreamingEndToEnd runs testdata/streaming, an app that declares
// StreamResponses, as the real -tags aws bootstrap under the local Runtime
// API, behind its function URL in RESPONSE_STREAM mode: aws-lambda-go's
// runtime loop posts the response as the handler writes it, and a client's
// first event arrives while the handler still waits for the client to say
// it read it. A handler that does not flush answers with its status,
// headers and cookies through the prelude; the same bootstrap answers an
// API Gateway request (buffered: an HTTP API invokes with Invoke) as before.
func TestStreamingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a bootstrap; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "aws,lambda.norpc", "-o", bin, "./testdata/streaming")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	released := make(chan struct{})
	read := make(chan struct{}) // closed once the client read the first event
	release := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-read:
		case <-r.Context().Done():
			return
		}
		close(released)
	}))
	defer release.Close()

	s := startBootstrap(t, bin, "streaming", "STREAM_RELEASE_URL="+release.URL)
	url := httptest.NewServer(s.FunctionURL(runtimeapi.ResponseStream))
	defer url.Close()

	t.Run("first bytes before the handler returns", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url.URL+"/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("got %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		br := bufio.NewReader(resp.Body)
		first, err := br.ReadString('\n')
		if err != nil || first != "data: first\n" {
			t.Fatalf("first line %q, %v (the handler waits for it to arrive before it returns)", first, err)
		}
		close(read)
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "\ndata: released\n\n" {
			t.Errorf("rest %q, %v; want the handler released by the client's read", rest, err)
		}
		select {
		case <-released:
		default:
			t.Error("the handler finished without asking to be released")
		}
	})

	t.Run("a handler that does not flush", func(t *testing.T) {
		resp, err := http.Get(url.URL + "/plain")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		cookies := resp.Header.Values("Set-Cookie")
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/json" ||
			fmt.Sprint(cookies) != "[a=1 b=2]" || string(body) != `{"ok":true}` {
			t.Errorf("got %d %v cookies %v body %q", resp.StatusCode, resp.Header, cookies, body)
		}
	})

	t.Run("an API Gateway request is buffered", func(t *testing.T) {
		got := httpResponse(t, s, httpRequest("GET", "/plain", ""))
		if got.StatusCode != http.StatusCreated || got.Body != `{"ok":true}` || fmt.Sprint(got.Cookies) != "[a=1 b=2]" {
			t.Errorf("got %+v", got)
		}
	})

}

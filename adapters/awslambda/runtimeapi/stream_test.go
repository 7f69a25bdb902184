package runtimeapi_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
)

// streamResponse is the bootstrap's streamed response for cmd: "first\n",
// then, once the test says so ($STREAM_RELEASE_URL answers), "second\n";
// as a function URL's HTTP response (stream-http); or failing after
// "first\n" (stream-fail), which aws-lambda-go reports in trailers.
func streamResponse(cmd string) any {
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "first\n")
		if cmd == "stream-fail" {
			_ = pw.CloseWithError(errors.New("failed while streaming"))
			return
		}
		resp, err := http.Get(os.Getenv("STREAM_RELEASE_URL"))
		if err != nil {
			_ = pw.CloseWithError(err)
			return
		}
		resp.Body.Close()
		_, _ = io.WriteString(pw, "second\n")
		_ = pw.Close()
	}()
	if cmd == "stream-http" {
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: http.StatusAccepted, Headers: map[string]string{"Content-Type": "text/plain"}, Cookies: []string{"a=1", "b=2"}, Body: pr,
		}
	}
	return pr
}

// releaser answers GET once release is closed.
func releaser(t *testing.T) (url string, release func()) {
	t.Helper()
	ch := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ch:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	var done bool
	return srv.URL, func() {
		if !done {
			done = true
			close(ch)
		}
	}
}

func TestInvokeStream(t *testing.T) {
	url, release := releaser(t)
	s := startServer(t, true, runtimeapi.Options{Timeout: 20 * time.Second, Env: []string{"STREAM_RELEASE_URL=" + url}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := s.InvokeStream(ctx, []byte(`"stream"`))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Body.Close()
	if st.FunctionError != "" || st.RequestID == "" {
		t.Fatalf("got %+v", st)
	}
	br := bufio.NewReader(st.Body)
	// The runtime waits to be released before it sends the rest: the
	// first line arrives while it runs.
	if first, err := br.ReadString('\n'); err != nil || first != "first\n" {
		t.Fatalf("first line %q, %v", first, err)
	}
	release()
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "second\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
	// The next invocation is served once the stream ended.
	if r := invoke(t, s, `"after"`); string(r.Payload) != `"after"` {
		t.Errorf("after the stream: got %+v", r)
	}
}

func TestInvokeStreamFailures(t *testing.T) {
	s := startServer(t, true, runtimeapi.Options{Timeout: 20 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// Failing before the response begins: the error document.
	st, err := s.InvokeStream(ctx, []byte(`"fail"`))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(st.Body)
	if st.FunctionError != "Unhandled" || !strings.Contains(string(doc), "failed on purpose") {
		t.Errorf("got %q and %s, want the function error", st.FunctionError, doc)
	}

	// Failing half-way: the trailers' error fails the read.
	st, err = s.InvokeStream(ctx, []byte(`"stream-fail"`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(st.Body)
	var se *runtimeapi.StreamError
	if string(body) != "first\n" || !errors.As(err, &se) || se.Type() == "" || !strings.Contains(string(se.Payload), "failed while streaming") {
		t.Errorf("got %q, %v; want the first line and the runtime's error", body, err)
	}

	// A buffered invocation of a streamed response is its whole body.
	if r := invoke(t, s, `"stream-fail"`); r.FunctionError != "Unhandled" {
		t.Errorf("buffered: got %+v, want the function error", r)
	}
}

func TestInvokeStreamTimeout(t *testing.T) {
	url, _ := releaser(t) // never released
	s := startServer(t, true, runtimeapi.Options{Timeout: time.Second, Env: []string{"STREAM_RELEASE_URL=" + url}})
	st, err := s.InvokeStream(t.Context(), []byte(`"stream"`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(st.Body)
	var se *runtimeapi.StreamError
	if string(body) != "first\n" || !errors.As(err, &se) || se.Type() != "Sandbox.Timedout" {
		t.Errorf("got %q, %v; want the first line and a timeout", body, err)
	}
	if r := invoke(t, s, `"after"`); string(r.Payload) != `"after"` {
		t.Errorf("after the timeout: got %+v", r)
	}
}

func TestFunctionURL(t *testing.T) {
	url, release := releaser(t)
	s := startServer(t, true, runtimeapi.Options{Timeout: 20 * time.Second, Env: []string{"STREAM_RELEASE_URL=" + url}})
	streaming := httptest.NewServer(s.FunctionURL(runtimeapi.ResponseStream))
	defer streaming.Close()
	buffered := httptest.NewServer(s.FunctionURL(runtimeapi.Buffered))
	defer buffered.Close()

	t.Run("streamed HTTP response", func(t *testing.T) {
		resp, err := http.Get(streaming.URL + "/stream-http")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Content-Type") != "text/plain" ||
			strings.Join(resp.Header.Values("Set-Cookie"), " ") != "a=1 b=2" {
			t.Errorf("got %d %v", resp.StatusCode, resp.Header)
		}
		br := bufio.NewReader(resp.Body)
		if first, err := br.ReadString('\n'); err != nil || first != "first\n" {
			t.Fatalf("first line %q, %v", first, err)
		}
		release()
		if rest, err := io.ReadAll(br); err != nil || string(rest) != "second\n" {
			t.Errorf("rest %q, %v", rest, err)
		}
	})
	t.Run("raw stream", func(t *testing.T) {
		resp, err := http.Get(streaming.URL + "/stream") // released already
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "first\nsecond\n" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})
	for _, front := range []*httptest.Server{streaming, buffered} {
		resp, err := http.Get(front.URL + "/fail")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("function error: got %d, want 502", resp.StatusCode)
		}
	}
	t.Run("buffered reply that is no HTTP response", func(t *testing.T) {
		resp, err := http.Get(buffered.URL + "/echo?a=1&a=2")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// testFunction echoes the event: a function URL's request.
		for _, want := range []string{`"rawPath":"/echo"`, `"a":"1,2"`, `.lambda-url.us-east-1.on.aws"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the event %s lacks %s", body, want)
			}
		}
	})
}

package awslambda

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

// streamingApp declares StreamResponses and a route that writes, flushes
// and waits to be released, the routes of the buffered tests' shapes, and
// one that panics once it has flushed.
func streamingApp(release <-chan struct{}, returned chan<- struct{}) *core.App {
	app := core.NewApp("streaming")
	app.StreamResponses()
	app.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			_, _ = io.WriteString(w, "data: no-flush\n\n")
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: second\n\n")
	})
	app.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("X-Many", "one")
		w.Header().Add("X-Many", "two")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	app.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 3*streamBuffer+7)) // no type: sniffed
	})
	app.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // Recover passes it on, as net/http servers expect
	})
	return app
}

// functionURLPayload is testdata/function-url.json as a GET of path.
func functionURLPayload(t testing.TB, path string) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(readTestdata(t, "function-url.json"), &p); err != nil {
		t.Fatal(err)
	}
	p["rawPath"], p["rawQueryString"] = path, ""
	delete(p, "queryStringParameters")
	p["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = path
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// prelude is the JSON a streamed HTTP response starts with.
type prelude struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Cookies    []string          `json:"cookies"`
}

// readPrelude reads the prelude and the eight null bytes after it, as a
// function URL does.
func readPrelude(t testing.TB, br *bufio.Reader) prelude {
	t.Helper()
	var b []byte
	for !bytes.HasSuffix(b, make([]byte, 8)) {
		c, err := br.ReadByte()
		if err != nil {
			t.Fatalf("the stream ended in its prelude %q: %v", b, err)
		}
		b = append(b, c)
	}
	var p prelude
	if err := json.Unmarshal(b[:len(b)-8], &p); err != nil {
		t.Fatalf("prelude %q: %v", b, err)
	}
	return p
}

func newStreamingHandler(t testing.TB, app *core.App) *Handler {
	t.Helper()
	h, err := New([]*core.App{app}, &Options{Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// streamingContentType is the content type of Lambda's streamed HTTP
// response, which a function URL parses as a prelude and a body.
const streamingContentType = "application/vnd.awslambda.http-integration-response"

func TestInvokeStreamFirstBytesBeforeReturn(t *testing.T) {
	release, returned := make(chan struct{}), make(chan struct{})
	h := newStreamingHandler(t, streamingApp(release, returned))
	r, err := h.InvokeStream(lambdaContext(t, time.Now().Add(time.Minute)), functionURLPayload(t, "/events"))
	if err != nil {
		t.Fatal(err)
	}
	if ct, _ := r.(interface{ ContentType() string }); ct == nil || ct.ContentType() != streamingContentType {
		t.Fatalf("the reply has no content type %s", streamingContentType)
	}
	br := bufio.NewReader(r)
	p := readPrelude(t, br)
	if p.StatusCode != http.StatusOK || p.Headers["Content-Type"] != "text/event-stream" {
		t.Errorf("prelude %+v, want 200 text/event-stream", p)
	}
	first, err := br.ReadString('\n')
	if err != nil || first != "data: first\n" {
		t.Fatalf("first line %q, %v", first, err)
	}
	select {
	case <-returned:
		t.Fatal("the handler returned before it was released")
	default:
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
	if err := r.(io.Closer).Close(); err != nil {
		t.Error(err)
	}
	<-returned
}

// A handler that does not flush gets, through the prelude, what Invoke
// gives a buffered function URL: status, headers, every cookie, the body.
func TestInvokeStreamBufferedHandler(t *testing.T) {
	h := newStreamingHandler(t, streamingApp(nil, make(chan struct{})))
	for _, path := range []string{"/plain", "/big", "/missing"} {
		t.Run(path, func(t *testing.T) {
			ctx := lambdaContext(t, time.Now().Add(time.Minute))
			buffered, err := h.Invoke(ctx, functionURLPayload(t, path))
			if err != nil {
				t.Fatal(err)
			}
			var want events.LambdaFunctionURLResponse
			if err := json.Unmarshal(buffered, &want); err != nil {
				t.Fatal(err)
			}
			r, err := h.InvokeStream(ctx, functionURLPayload(t, path))
			if err != nil {
				t.Fatal(err)
			}
			defer r.(io.Closer).Close()
			br := bufio.NewReader(r)
			p := readPrelude(t, br)
			body, err := io.ReadAll(br)
			if err != nil {
				t.Fatal(err)
			}
			got := events.LambdaFunctionURLResponse{StatusCode: p.StatusCode, Headers: p.Headers, Cookies: p.Cookies, Body: string(body)}
			if want.IsBase64Encoded {
				got.Body, got.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("streamed response differs from the buffered one (-buffered +streamed):\n%s", diff)
			}
		})
	}
}

// Payloads other than a function URL's get Invoke's reply: API Gateway
// invokes a function with Invoke, which buffers.
func TestInvokeStreamOtherPayloads(t *testing.T) {
	h := newStreamingHandler(t, streamingApp(nil, make(chan struct{})))
	ctx := lambdaContext(t, time.Now().Add(time.Minute))
	payload := readTestdata(t, "apigw-v2-get.json")
	want, err := h.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.InvokeStream(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("got %s, %v; want Invoke's %s", got, err, want)
	}
	if _, err := h.InvokeStream(ctx, []byte(`{"not":"an event"}`)); err == nil {
		t.Error("an unknown payload did not fail")
	}
}

// aws-lambda-go's own handler takes InvokeStream as Run gives it: the
// reply is posted as the reader's bytes, not encoded as JSON.
func TestInvokeStreamThroughAWSLambdaGo(t *testing.T) {
	release, returned := make(chan struct{}), make(chan struct{})
	close(release)
	h := newStreamingHandler(t, streamingApp(release, returned))
	ctx := lambdaContext(t, time.Now().Add(time.Minute))
	out, err := lambda.NewHandler(h.InvokeStream).Invoke(ctx, functionURLPayload(t, "/events"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"statusCode":200,"headers":{"Content-Type":"text/event-stream"}}` + "\x00\x00\x00\x00\x00\x00\x00\x00" +
		"data: first\n\ndata: second\n\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	api := readTestdata(t, "apigw-v2-get.json")
	out, err = lambda.NewHandler(h.InvokeStream).Invoke(ctx, api)
	if buffered, _ := h.Invoke(ctx, api); err != nil || !bytes.Equal(out, buffered) {
		t.Errorf("API Gateway reply %s, %v; want %s", out, err, buffered)
	}
}

// Run gives aws-lambda-go InvokeStream for an app that streams, and the
// Handler itself otherwise.
func TestEntry(t *testing.T) {
	app := streamingApp(nil, nil)
	if _, ok := newStreamingHandler(t, app).entry(app).(func(context.Context, json.RawMessage) (io.Reader, error)); !ok {
		t.Error("a streaming app's entry is not InvokeStream")
	}
	plain := core.NewApp("plain")
	plain.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	if _, ok := newStreamingHandler(t, plain).entry(plain).(*Handler); !ok {
		t.Error("a buffered app's entry is not the Handler")
	}
}

// A handler that aborts after its prelude went ends the stream with an
// error, which aws-lambda-go reports to Lambda in the trailers.
func TestInvokeStreamAbort(t *testing.T) {
	h := newStreamingHandler(t, streamingApp(nil, make(chan struct{})))
	r, err := h.InvokeStream(lambdaContext(t, time.Now().Add(time.Minute)), functionURLPayload(t, "/panic"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.(io.Closer).Close()
	br := bufio.NewReader(r)
	readPrelude(t, br)
	body, err := io.ReadAll(br)
	var fe interface{ Error() string }
	if string(body) != "partial" || !errors.As(err, &fe) || strings.Contains(err.Error(), "panic") {
		t.Errorf("got %q, %v; want the partial body and a function error without internal text", body, err)
	}
}

// Closing the reply before reading it all (the Runtime API went away)
// fails the handler's writes and ends its context.
func TestInvokeStreamClose(t *testing.T) {
	returned := make(chan struct{})
	h := newStreamingHandler(t, streamingApp(make(chan struct{}), returned))
	r, err := h.InvokeStream(lambdaContext(t, time.Now().Add(time.Minute)), functionURLPayload(t, "/events"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	default:
		t.Error("Close returned before the handler did")
	}
}

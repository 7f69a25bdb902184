package awslambda

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/polyfn/polyfn/core"
)

// The streaming benchmarks measure what an invocation costs on the
// streaming path against the buffered one, for the same GET answered by
// the same handler (BenchmarkAdapterAPIGatewayV2's): each runs the entry
// point as aws-lambda-go's runtime loop does (lambda.NewHandler: the
// payload decoded into the entry point's argument, the reply read whole),
// without the Runtime API's network round trip, which both paths share.

func benchStreamingApp(stream bool) *core.App {
	app := core.NewApp("bench")
	if stream {
		app.StreamResponses()
	}
	app.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(user{ID: r.PathValue("id"), Query: r.URL.Query().Get("q"), UserAgent: r.Header.Get("User-Agent")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return app
}

// benchFunctionURLPayload is apigw-v2-get.json as a function URL sends it.
func benchFunctionURLPayload(b *testing.B) []byte {
	return bytes.ReplaceAll(readTestdata(b, "apigw-v2-get.json"), []byte(".execute-api."), []byte(".lambda-url."))
}

func benchEntry(b *testing.B, entry any, payload []byte, want string) {
	h := lambda.NewHandler(entry)
	ctx := lambdaContext(b, time.Now().Add(time.Hour))
	out, err := h.Invoke(ctx, payload)
	if err != nil || !strings.Contains(string(out), want) {
		b.Fatalf("reply %q, %v; want %s in it", out, err, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFunctionURLBuffered: a function URL in BUFFERED mode, the
// Handler as Run gives it to an app that does not stream.
func BenchmarkFunctionURLBuffered(b *testing.B) {
	h := newBenchHandler(b, false)
	benchEntry(b, h, benchFunctionURLPayload(b), `"statusCode":200`)
}

// BenchmarkFunctionURLStreamed: a function URL in RESPONSE_STREAM mode,
// InvokeStream as Run gives it to an app that streams: the handler on its
// own goroutine, the prelude and the body through a pipe.
func BenchmarkFunctionURLStreamed(b *testing.B) {
	h := newBenchHandler(b, true)
	benchEntry(b, h.InvokeStream, benchFunctionURLPayload(b), `{"statusCode":200,`)
}

// BenchmarkAPIGatewayOnStreamingUnit: an HTTP API request to the unit of an
// app that streams, which InvokeStream answers with Invoke's reply.
func BenchmarkAPIGatewayOnStreamingUnit(b *testing.B) {
	h := newBenchHandler(b, true)
	benchEntry(b, h.InvokeStream, readTestdata(b, "apigw-v2-get.json"), `"statusCode":200`)
}

func newBenchHandler(b *testing.B, stream bool) *Handler {
	h, err := New([]*core.App{benchStreamingApp(stream)}, &Options{Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

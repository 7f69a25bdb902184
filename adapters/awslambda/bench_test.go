package awslambda

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/polyfn/polyfn/core"
)

// user is what both benchmark handlers answer: the same work on the same
// request, once through net/http and once on aws-lambda-go's typed event.
type user struct {
	ID        string `json:"id"`
	Query     string `json:"q"`
	UserAgent string `json:"userAgent"`
}

// BenchmarkAdapterAPIGatewayV2 measures an HTTP API request through the
// adapter: probe, *http.Request, ServeMux routing, the handler, the reply.
func BenchmarkAdapterAPIGatewayV2(b *testing.B) {
	app := core.NewApp("bench")
	app.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(user{ID: r.PathValue("id"), Query: r.URL.Query().Get("q"), UserAgent: r.Header.Get("User-Agent")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	h, err := New([]*core.App{app}, &Options{Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkInvoke(b, h)
}

// BenchmarkRawAPIGatewayV2 is the baseline: an aws-lambda-go handler doing
// the same work on events.APIGatewayV2HTTPRequest.
func BenchmarkRawAPIGatewayV2(b *testing.B) {
	h := lambda.NewHandler(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		id, ok := strings.CutPrefix(req.RawPath, "/users/")
		if req.RequestContext.HTTP.Method != http.MethodGet || !ok || id == "" || strings.Contains(id, "/") {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotFound}, nil
		}
		body, err := json.Marshal(user{ID: id, Query: req.QueryStringParameters["q"], UserAgent: req.Headers["user-agent"]})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"Content-Type": "application/json"},
			Body:       string(body),
		}, nil
	})
	benchmarkInvoke(b, h)
}

func benchmarkInvoke(b *testing.B, h lambda.Handler) {
	payload := readTestdata(b, "apigw-v2-get.json")
	ctx := lambdaContext(b, time.Time{})
	out, err := h.Invoke(ctx, payload)
	if err != nil || !strings.Contains(string(out), `\"q\":\"ada\"`) || !strings.Contains(string(out), `"statusCode":200`) {
		b.Fatalf("reply %s, %v", out, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

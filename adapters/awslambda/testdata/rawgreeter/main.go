// Command rawgreeter is the baseline of the minimal function's cold start
// (BenchmarkColdStartMinimal): the route of usermodule.Greeter,
// GET /hello/{name}, answered by aws-lambda-go alone from an HTTP API
// request, with no polyfn in it.
package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		name, ok := strings.CutPrefix(req.RawPath, "/hello/")
		switch {
		case !ok || name == "" || strings.Contains(name, "/"):
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotFound}, nil
		case req.RequestContext.HTTP.Method != http.MethodGet:
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusMethodNotAllowed}, nil
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			Body:       "hello, " + name + "\n",
		}, nil
	})
}

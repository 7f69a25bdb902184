// Command rawusers is the same-work baseline of the cold-start benchmark:
// the users function's read path (GET /users/{id} from a bucket opened by
// URL) written directly on aws-lambda-go, with no polyfn in it. It links
// the same storage drivers as the -tags aws users bootstrap (S3 and local
// files), so the difference to users is what polyfn adds: the adapter, the
// app and its gateway policies.
package main

import (
	"context"
	"log"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

func main() {
	bucket, err := blob.OpenBucket(context.Background(), os.Getenv("USERS_BUCKET_URL"))
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		id, ok := strings.CutPrefix(req.RawPath, "/users/")
		if !ok || req.RequestContext.HTTP.Method != "GET" {
			return events.APIGatewayV2HTTPResponse{StatusCode: 404}, nil
		}
		b, err := bucket.ReadAll(ctx, "users/"+id+".json")
		switch {
		case gcerrors.Code(err) == gcerrors.NotFound:
			return events.APIGatewayV2HTTPResponse{StatusCode: 404}, nil
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
	})
}

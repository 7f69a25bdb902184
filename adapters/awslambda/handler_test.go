package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/polyfn/polyfn/core"
)

// testEnv names the AWS resources of the test app's triggers. BUS_URL is
// left unset: its function names no AWS resource.
var testEnv = map[string]string{
	"MEDIA_BUCKET_URL": "s3://media?region=us-east-1",
	"ORDERS_QUEUE_URL": "awssqs://sqs.us-east-2.amazonaws.com/123456789012/orders?region=us-east-2",
	"FIFO_QUEUE_URL":   "awssqs://sqs.us-east-2.amazonaws.com/123456789012/orders.fifo?region=us-east-2",
	"EVENTS_TOPIC_URL": "awssns:///arn:aws:sns:us-east-2:123456789012:order-events?region=us-east-2",
	"USERS_TABLE_URL":  "dynamodb://users?partition_key=id",
}

// recorder is the test app's event functions: it records every event it
// receives, by function, and fails those fail picks.
type recorder struct {
	mu     sync.Mutex
	events map[string][]core.Event
	fail   func(fn string, e core.Event) error
}

func (r *recorder) handler(fn string) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		r.mu.Lock()
		if r.events != nil {
			r.events[fn] = append(r.events[fn], e)
		}
		fail := r.fail
		r.mu.Unlock()
		if fail != nil {
			return fail(fn, e)
		}
		return nil
	})
}

func (r *recorder) got(fn string) []core.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[fn]
}

// newTestApp returns an app with the routes and triggers the tests use.
func newTestApp() (*core.App, *recorder) {
	rec := &recorder{events: map[string][]core.Event{}}
	app := core.NewApp("test")
	app.HandleFunc("/echo", echoHandler)
	app.HandleFunc("/echo/{rest...}", echoHandler)
	app.HandleFunc("GET /png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes)
	})
	app.HandleFunc("GET /cookies", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		_, _ = io.WriteString(w, "ok")
	})
	app.HandleFunc("DELETE /empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	app.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	app.HandleFunc("GET /raw", func(w http.ResponseWriter, r *http.Request) {
		var req events.APIGatewayV2HTTPRequest
		if !As(r.Context(), &req) || req.RequestContext.Authorizer == nil {
			http.Error(w, "no raw event", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, req.RequestContext.Authorizer.JWT.Claims["sub"])
	})
	on := func(name string, t core.Trigger) { app.On(name, t, rec.handler(name)) }
	on("thumbs", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/",
		Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}})
	on("orders", core.MessageTrigger{Subscription: "ORDERS_QUEUE_URL"})
	on("orders-fifo", core.MessageTrigger{Subscription: "FIFO_QUEUE_URL"})
	on("order-events", core.MessageTrigger{Subscription: "EVENTS_SUB_URL", Topic: "EVENTS_TOPIC_URL"})
	on("bus", core.MessageTrigger{Subscription: "BUS_URL"})
	on("user-changes", core.ChangeTrigger{Source: "USERS_TABLE_URL"})
	on("nightly-report", core.TimerTrigger{Schedule: "0 3 * * *"})
	on("hourly", core.TimerTrigger{Schedule: "@hourly"})
	return app, rec
}

var pngBytes = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x00, 0x01}

// echo is what echoHandler answers: the request as the handler saw it.
type echo struct {
	Method, Path, EscapedPath, RawQuery, Host, RemoteAddr, Proto, RequestURI string
	Query                                                                    url.Values
	Header                                                                   http.Header
	Body                                                                     []byte
	ContentLength                                                            int64
	Rest                                                                     string
	Invocation                                                               core.Invocation
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e := echo{
		Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Host: r.Host, RemoteAddr: r.RemoteAddr, Proto: r.Proto, RequestURI: r.RequestURI,
		Query: r.URL.Query(), Header: r.Header, Body: body, ContentLength: r.ContentLength,
		Rest: r.PathValue("rest"),
	}
	if inv, ok := core.InvocationFrom(r.Context()); ok {
		e.Invocation = *inv
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(e)
}

var discardLogger = slog.New(slog.DiscardHandler)

// newTestHandler returns a Handler of the test app and its recorder.
func newTestHandler(t testing.TB) (*Handler, *recorder) {
	t.Helper()
	app, rec := newTestApp()
	h, err := New([]*core.App{app}, &Options{
		Env:    func(k string) string { return testEnv[k] },
		Logger: discardLogger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, rec
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lambdaContext returns a context as aws-lambda-go's runtime loop makes it.
func lambdaContext(t testing.TB, deadline time.Time) context.Context {
	t.Helper()
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{
		AwsRequestID:       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		InvokedFunctionArn: "arn:aws:lambda:us-east-2:123456789012:function:test",
	})
	ctx = context.WithValue(ctx, traceKey, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
	if !deadline.IsZero() {
		ctx, cancel := context.WithDeadline(ctx, deadline)
		t.Cleanup(cancel)
		return ctx
	}
	return ctx
}

// functionErr returns the Lambda function error Invoke returned.
func functionErr(t testing.TB, err error) messages.InvokeResponse_Error {
	t.Helper()
	var fe messages.InvokeResponse_Error
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v (%T), want a messages.InvokeResponse_Error", err, err)
	}
	return fe
}

func TestShapes(t *testing.T) {
	tests := []struct {
		file string
		want shape
	}{
		{"apigw-v2-post.json", shapeAPIGatewayV2},
		{"apigw-v2-binary.json", shapeAPIGatewayV2},
		{"function-url.json", shapeFunctionURL},
		{"apigw-v1-rest.json", shapeAPIGatewayV1},
		{"apigw-v1-null-maps.json", shapeAPIGatewayV1},
		{"alb-single.json", shapeALB},
		{"alb-multi.json", shapeALB},
		{"s3-put.json", shapeS3},
		{"s3-delete.json", shapeS3},
		{"sqs.json", shapeSQS},
		{"sqs-sns.json", shapeSQS},
		{"sqs-fifo.json", shapeSQS},
		{"sqs-batch-poison.json", shapeSQS},
		{"sns.json", shapeSNS},
		{"eventbridge-custom.json", shapeEventBridge},
		{"eventbridge-scheduled.json", shapeEventBridge},
		{"scheduler.json", shapeScheduler},
		{"dynamodb.json", shapeDynamoDB},
		{"s3/restore-completed.json", shapeS3},
		{"streams/kinesis.json", shapeKinesis},
		{"streams/msk.json", shapeKafka},
		{"streams/self-managed-kafka.json", shapeKafka},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, got, err := probe(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMalformedPayloads(t *testing.T) {
	h, _ := newTestHandler(t)
	tests := []struct {
		name, payload, want string
	}{
		{"empty", ``, "not a JSON object"},
		{"not JSON", `{"Records":`, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"null", `null`, "not an event polyfn knows"},
		{"empty object", `{}`, "not an event polyfn knows"},
		{"empty records", `{"Records":[]}`, "Records are empty"},
		{"unknown source", `{"Records":[{"eventSource":"aws:codecommit"}]}`, `"aws:codecommit" are not supported`},
		{"mixed sources", `{"Records":[{"eventSource":"aws:sqs","messageId":"1"},{"eventSource":"aws:s3"}]}`, "one event source"},
		{"wrong type", `{"version":"2.0","headers":7}`, "not a JSON object"},
		{"bad base64 body", `{"version":"2.0","rawPath":"/echo/x","requestContext":{"http":{"method":"POST"}},"body":"%%%","isBase64Encoded":true}`, "not base64"},
		{"bad S3 key escape", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"media"},"object":{"key":"uploads/%zz"}}}]}`, "S3 record 0"},
		{"S3 restore without key", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRestore:Post","s3":{"bucket":{"name":"media"},"object":{}}}]}`, "no bucket name or object key"},
		{"SQS without messageId", `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`, "no messageId"},
		{"SNS without message", `{"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"m"}}]}`, "no MessageId or Message"},
		{"DynamoDB bad number", `{"Records":[{"eventSource":"aws:dynamodb","eventID":"e","eventName":"INSERT","dynamodb":{"SequenceNumber":"1","NewImage":{"n":{"N":"12abc"}}}}]}`, "NewImage: n: want a number"},
		{"DynamoDB two types", `{"Records":[{"eventSource":"aws:dynamodb","eventID":"e","eventName":"INSERT","dynamodb":{"SequenceNumber":"1","Keys":{"id":{"S":"a","N":"1"}}}}]}`, "one type"},
		{"DynamoDB unknown op", `{"Records":[{"eventSource":"aws:dynamodb","eventID":"e","eventName":"UPSERT","dynamodb":{"SequenceNumber":"1"}}]}`, "UPSERT"},
		{"EventBridge without id", `{"detail-type":"Order Placed","source":"com.example"}`, "without an id"},
		{"schedule bad time", `{"job":"hourly","schedule_arn":"arn:aws:scheduler:::schedule/x","scheduled_at":"soon"}`, "scheduled_at"},
		{"schedule bad attempt", `{"job":"hourly","schedule_arn":"arn:aws:scheduler:::schedule/x","scheduled_at":"2026-01-01T00:00:00Z","attempt":"two"}`, "attempt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := h.Invoke(t.Context(), []byte(tt.payload))
			if err == nil {
				t.Fatalf("got reply %s, want an error", reply)
			}
			fe := functionErr(t, err)
			if fe.Type != "Polyfn.InvalidArgument" {
				t.Errorf("error type: got %q, want Polyfn.InvalidArgument", fe.Type)
			}
			if !strings.Contains(fe.Message, tt.want) {
				t.Errorf("error message %q does not contain %q", fe.Message, tt.want)
			}
		})
	}
}

// TestErrorTable proves the table covers every code, and that each code
// reaches Lambda as the table says: a failed SQS record in
// batchItemFailures, a failed asynchronous event as a function error of the
// table's type whose message shows client errors only.
func TestErrorTable(t *testing.T) {
	for _, code := range core.Codes() {
		f, ok := byCode[code]
		if !ok {
			t.Errorf("byCode has no entry for %v", code)
			continue
		}
		if want := code.IsClientError(); f.transient == want {
			t.Errorf("%v: transient is %v; a client error is never transient, any other code is", code, f.transient)
		}
	}
	for _, code := range core.Codes() {
		t.Run(code.String(), func(t *testing.T) {
			h, rec := newTestHandler(t)
			rec.fail = func(string, core.Event) error { return core.Errorf(code, "secret detail") }

			_, err := h.Invoke(t.Context(), readTestdata(t, "s3-delete.json"))
			fe := functionErr(t, err)
			if fe.Type != byCode[code].errorType {
				t.Errorf("S3: error type %q, want %q", fe.Type, byCode[code].errorType)
			}
			if shown := strings.Contains(fe.Message, "secret detail"); shown != code.IsClientError() {
				t.Errorf("S3: message %q shows the error's text: %v, want %v", fe.Message, shown, code.IsClientError())
			}

			reply, err := h.Invoke(t.Context(), readTestdata(t, "sqs.json"))
			if err != nil {
				t.Fatal(err)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(reply, &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 2 {
				t.Errorf("SQS: got %s, want both records failed", reply)
			}
		})
	}
}

func TestUnknownErrorsAreInternal(t *testing.T) {
	if got := failureFor(errors.New("plain")); got != byCode[core.Unknown] {
		t.Errorf("got %+v, want the Unknown entry", got)
	}
	if got := failureFor(core.Errorf(core.Code(99), "out of range")); got != byCode[core.Internal] {
		t.Errorf("got %+v, want the Internal entry", got)
	}
}

func TestNewNeedsOneApp(t *testing.T) {
	if _, err := New(nil, nil); err == nil {
		t.Error("New(nil, nil) succeeded")
	}
	two := []*core.App{core.NewApp("a"), core.NewApp("b")}
	if _, err := New(two, nil); err == nil || !strings.Contains(err.Error(), "one app per function") {
		t.Errorf("New(two apps) = %v, want the one-app-per-function error", err)
	}
}

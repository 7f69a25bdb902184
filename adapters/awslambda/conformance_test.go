package awslambda_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/polyfn/polyfn/adapters/adaptertest"
	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
)

// TestConformance runs the cross-adapter suite through awslambda.Handler
// as aws-lambda-go's runtime loop calls it, with the payloads Lambda's
// event sources send and their replies decoded as those sources do.
func TestConformance(t *testing.T) {
	adaptertest.RunConformanceTests(t, func(t *testing.T) adaptertest.Harness { return awsHarness{} })
}

// The limits and settings of the Lambda function the harness plays.
const (
	// lambdaMaxPayload is Lambda's limit on a synchronous invocation's request
	// and response: 6 MB.
	lambdaMaxPayload = 6 << 20
	// lambdaTimeout is the timeout polyfn build's SAM template sets.
	lambdaTimeout  = 30 * time.Second
	awsRegion      = "us-east-1"
	awsAccount     = "123456789012"
	conformanceARN = "arn:aws:lambda:" + awsRegion + ":" + awsAccount + ":function:conformance"
)

type awsHarness struct{}

func (awsHarness) Name() string { return "aws" }

func (awsHarness) Describe() string {
	return "`awslambda.New` behind aws-lambda-go's `lambda.NewHandler`, invoked as its runtime loop does: one invocation " +
		"at a time, the deadline 30 s away (polyfn build's timeout) in the context, `lambdacontext` and the X-Ray trace " +
		"header, payloads up to Lambda's 6 MB. The app declares StreamResponses and Run's entry point, " +
		"`InvokeStream`, serves it; HTTP as requests to the function URL in RESPONSE_STREAM mode that polyfn build gives " +
		"such an app (payload 2.0 from a `lambda-url` domain), its streamed response read as the URL reads it: the prelude's " +
		"status, headers and cookies, then the body as the function writes it; objects as S3 notifications, messages as SQS batches " +
		"(`ReportBatchItemFailures`), changes as DynamoDB Streams batches, timers as EventBridge Scheduler " +
		"invocations with polyfn's schedule input. A function error redelivers every event of an asynchronous " +
		"invocation (S3, the Scheduler) or of a batch."
}

func (awsHarness) Can(c adaptertest.Capability) (bool, string) {
	switch c {
	case adaptertest.BinaryResponses:
		return true, "binary request bodies travel base64-encoded with isBase64Encoded; a streamed response's body is its bytes"
	case adaptertest.LargeBodies:
		return true, "5 MB of text fits Lambda's 6 MB synchronous invocation payload"
	case adaptertest.LargeBinaryBodies:
		return false, "Lambda's synchronous invocation payload is at most 6 MB each way, and binary bodies travel " +
			"base64-encoded in the event JSON: 5 MB become 6.7 MB, and Lambda refuses the invocation"
	case adaptertest.RepeatedRequestHeaders:
		return false, "API Gateway HTTP APIs (payload 2.0) and function URLs join the values of a repeated request " +
			"header with commas; rawQueryString keeps repeated query values"
	case adaptertest.RepeatedResponseHeaders:
		return false, "a streamed response's prelude, like a payload 2.0 reply, has one value per header name: the " +
			"adapter joins repeated values with commas (Set-Cookie travels apart, in cookies[])"
	case adaptertest.MultipleCookies:
		return true, "the prelude, like a payload 2.0 reply, carries every Set-Cookie in cookies[]"
	case adaptertest.Cancellation:
		return false, "Lambda does not tell a running invocation that its caller went away: it runs until it " +
			"returns or reaches its deadline"
	case adaptertest.Deadline:
		return true, "from Lambda-Runtime-Deadline-Ms; the context ends ReplyMargin (200 ms) earlier, so that a " +
			"partial-batch reply still reaches Lambda"
	case adaptertest.EventDeadline:
		return true, "the declared timeout of the function the event is routed to (a batch's one function), whether " +
			"the bootstrap serves every unit, as here, or its own (POLYFN_UNIT); Lambda's deadline less ReplyMargin when earlier"
	case adaptertest.PartialBatchFailure:
		return true, "SQS batches answer with exactly the failed messages in batchItemFailures"
	case adaptertest.PartialChangeBatchFailure:
		return false, "a DynamoDB stream is read in order and Lambda resumes a batch from the lowest sequence " +
			"number reported, so the adapter stops at the first failure"
	case adaptertest.OrderedChangeBatches:
		return true, "batchItemFailures names the first failed record's SequenceNumber and every later record"
	case adaptertest.AcknowledgePermanentFailures:
		return false, "Lambda gives a function no way to drop an event: every failure is redelivered until the " +
			"source's retry limit, then goes to its dead-letter queue or on-failure destination; client errors are " +
			"logged as errors"
	case adaptertest.EventField(core.KindObjectCreated, adaptertest.FieldID),
		adaptertest.EventField(core.KindObjectDeleted, adaptertest.FieldID):
		return false, "S3 notifications carry no event id: the adapter derives one from the bucket, key, " +
			"sequencer and event name, the same on every redelivery"
	case adaptertest.EventField(core.KindMessage, adaptertest.FieldBinaryBody):
		return false, "an SQS message body is text (XML characters only): a producer sends binary data encoded, " +
			"as base64 for instance"
	case adaptertest.EventField(core.KindObjectCreated, "data.content_type"):
		return false, "S3 notifications carry no content type"
	case adaptertest.EventKind(core.KindObjectTiered):
		return true, "S3 s3:LifecycleTransition (lifecycleEventData's destination storage class) and s3:IntelligentTiering (its destination access tier)"
	case adaptertest.EventKind(core.KindObjectRestored):
		return true, "S3 s3:ObjectRestore:Post, :Completed (glacierEventData's expiry and storage class) and :Delete"
	case adaptertest.EventKind(core.KindObjectUpdated):
		return true, "S3 s3:ObjectTagging:Put, :Delete and s3:ObjectAcl:Put"
	case adaptertest.EventKind(core.KindObjectReplication):
		return true, "S3 s3:Replication:* with replicationEventData's rule, destination and failure reason"
	case adaptertest.EventField(core.KindObjectTiered, adaptertest.FieldID),
		adaptertest.EventField(core.KindObjectRestored, adaptertest.FieldID),
		adaptertest.EventField(core.KindObjectUpdated, adaptertest.FieldID),
		adaptertest.EventField(core.KindObjectReplication, adaptertest.FieldID):
		return false, "S3 notifications carry no event id: the adapter derives one from the bucket, key, " +
			"sequencer and event name, the same on every redelivery"
	case adaptertest.Streams:
		return true, "Kinesis Data Streams batches, one shard per invocation, and MSK or self-managed Kafka batches; " +
			"each partition in order, stopping at its first failure, reported in batchItemFailures (Kinesis by sequence " +
			"number, Kafka by topic-partition and offset)"
	case adaptertest.EventKind(core.KindRecord):
		return true, "Kinesis records, in the shard's order"
	case adaptertest.EventField(core.KindRecord, adaptertest.FieldID):
		return false, "a Kinesis record's id is Lambda's eventID, the shard and the sequence number"
	case adaptertest.EventField(core.KindRecord, "data.headers"):
		return false, "Kinesis records carry no headers (Kafka records do)"
	case adaptertest.StreamingResponses:
		return true, "an app that declares StreamResponses gets a function URL in RESPONSE_STREAM mode: Lambda invokes " +
			"it with InvokeWithResponseStream, the adapter answers with Lambda's streamed HTTP response, the prelude " +
			"once the handler flushes and the body at each flush; API Gateway HTTP APIs buffer"
	}
	return true, ""
}

func (awsHarness) Source(fn string) string {
	return map[string]string{
		"objects":  "arn:aws:s3:::conformance-bucket",
		"messages": "arn:aws:sqs:" + awsRegion + ":" + awsAccount + ":conformance-queue",
		"changes":  "arn:aws:dynamodb:" + awsRegion + ":" + awsAccount + ":table/conformance-table",
		"timer":    "arn:aws:scheduler:" + awsRegion + ":" + awsAccount + ":schedule/default/conformance-timer",
		"stream":   "arn:aws:kinesis:" + awsRegion + ":" + awsAccount + ":stream/conformance-stream",
	}[fn]
}

// TimerName names the timer of function fn by its schedule's ARN, as the
// adapter does (docs/events.md).
func (h awsHarness) TimerName(fn string) string { return h.Source(fn) }

func (awsHarness) Start(t *testing.T, app *core.App, env map[string]string) adaptertest.Client {
	resolved, err := core.ResolveEnv(app, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Declared as an app that streams does, so that polyfn build gives it
	// the function URL in RESPONSE_STREAM mode through which Do sends.
	app.StreamResponses()
	if err := app.Init(t.Context(), resolved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	h, err := awslambda.New([]*core.App{app}, &awslambda.Options{Env: resolved, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// What Run hands aws-lambda-go for an app that streams.
	return &awsClient{handler: lambda.NewHandler(h.InvokeStream), stream: h.InvokeStream}
}

// awsClient is a Lambda function and the services in front of it.
type awsClient struct {
	handler lambda.Handler
	stream  func(context.Context, json.RawMessage) (io.Reader, error) // the streaming entry point
	mu      sync.Mutex                                                // one invocation at a time, as in one execution environment
	n       int
}

// invocation is the outcome of one invocation: the response, or the
// function error document the runtime posts.
type invocation struct {
	reply    []byte
	fnErr    *messages.InvokeResponse_Error
	tooLarge bool
}

func (inv invocation) document() []byte {
	if inv.fnErr == nil {
		return inv.reply
	}
	b, _ := json.Marshal(inv.fnErr)
	return b
}

// invoke runs one invocation as aws-lambda-go's runtime loop does
// (handleInvoke): the deadline, lambdacontext and trace header in a context
// of its own, since Lambda does not end an invocation when its caller goes.
func (c *awsClient) invoke(payload []byte) (invocation, error) {
	if len(payload) > lambdaMaxPayload {
		return invocation{tooLarge: true}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := c.invocationContext()
	defer cancel()
	reply, err := c.call(ctx, payload)
	if err != nil {
		var ie messages.InvokeResponse_Error
		if !errors.As(err, &ie) {
			ie = messages.InvokeResponse_Error{Message: err.Error(), Type: fmt.Sprintf("%T", err)}
		}
		return invocation{fnErr: &ie}, nil
	}
	if len(reply) > lambdaMaxPayload {
		return invocation{fnErr: &messages.InvokeResponse_Error{Type: "Function.ResponseSizeTooLarge", Message: "response over 6 MB"}}, nil
	}
	return invocation{reply: reply}, nil
}

// invocationContext is the context of the next invocation; c.mu is held.
func (c *awsClient) invocationContext() (context.Context, context.CancelFunc) {
	c.n++
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(lambdaTimeout))
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: fmt.Sprintf("c0f0a6e8-0000-4000-8000-%012d", c.n), InvokedFunctionArn: conformanceARN,
	})
	trace := fmt.Sprintf("Root=1-6740e0a0-%024x;Parent=%016x;Sampled=1", c.n, c.n)
	return context.WithValue(ctx, "x-amzn-trace-id", trace), cancel //nolint:staticcheck // aws-lambda-go's own key
}

// call calls the handler. A panic that reaches the runtime loop makes it
// report the error and exit the process, which the harness reports.
func (c *awsClient) call(ctx context.Context, payload []byte) (reply []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the handler panicked, which ends the Lambda runtime process: %v", v)
			panic(err)
		}
	}()
	return c.handler.Invoke(ctx, payload)
}

// ---------------------------------------------------------------- HTTP

// Do sends req to the app's function URL in RESPONSE_STREAM mode, which
// invokes the function with InvokeWithResponseStream: aws-lambda-go's
// runtime loop reads the streaming entry point's reply and posts it as it
// reads, and the URL answers with the prelude's status, headers and
// cookies, then passes the body on as it arrives. A reply of another type
// is the body of a 200, as the URL makes it. The invocation holds the
// execution environment until its response has been read; a caller that
// goes away leaves it running, its response dropped.
func (c *awsClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	payload, err := functionURLRequest(req)
	if err != nil {
		return nil, err
	}
	if len(payload) > lambdaMaxPayload {
		return gatewayError(http.StatusRequestEntityTooLarge, "Request Entity Too Large"), nil
	}
	done := make(chan *http.Response, 1)
	go func() { done <- c.invokeStream(payload) }() // the invocation runs on when the caller goes away
	select {
	case resp := <-done:
		context.AfterFunc(ctx, func() { resp.Body.Close() })
		return resp, nil
	case <-ctx.Done():
		go func() { (<-done).Body.Close() }()
		return nil, ctx.Err()
	}
}

// functionURLRequest encodes req as a function URL's request: payload 2.0,
// as an HTTP API's, from the URL's own domain.
func functionURLRequest(req *http.Request) ([]byte, error) {
	b, err := httpAPIRequest(req)
	if err != nil {
		return nil, err
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	const urlID = "conformance0000000000000000000000"
	domain := urlID + ".lambda-url." + awsRegion + ".on.aws"
	p["headers"].(map[string]any)["host"] = domain
	rc := p["requestContext"].(map[string]any)
	rc["domainName"], rc["domainPrefix"], rc["apiId"] = domain, urlID, urlID
	return json.Marshal(p)
}

// streamedContentType is the type of Lambda's streamed HTTP response: a
// JSON prelude, eight null bytes, the body.
const streamedContentType = "application/vnd.awslambda.http-integration-response"

// invokeStream runs one streaming invocation and returns the function URL's
// response, whose body ends the invocation once it is read or closed.
func (c *awsClient) invokeStream(payload []byte) *http.Response {
	c.mu.Lock()
	ctx, cancel := c.invocationContext()
	r, err := c.stream(ctx, payload)
	if err != nil {
		cancel()
		c.mu.Unlock()
		return gatewayError(http.StatusBadGateway, "Internal Server Error")
	}
	body := &invocationBody{r: bufio.NewReader(r), end: func() {
		if cl, ok := r.(io.Closer); ok {
			_ = cl.Close() // as aws-lambda-go does once it posted the response
		}
		cancel()
		c.mu.Unlock()
	}}
	if ct, _ := r.(interface{ ContentType() string }); ct == nil || ct.ContentType() != streamedContentType {
		return streamedResponse(http.StatusOK, http.Header{"Content-Type": {"application/octet-stream"}}, body)
	}
	var prelude struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}
	head, err := body.r.ReadBytes(0)
	for err == nil && !bytes.HasSuffix(head, make([]byte, 8)) {
		var more []byte
		more, err = body.r.ReadBytes(0)
		head = append(head, more...)
	}
	if err != nil || json.Unmarshal(head[:len(head)-8], &prelude) != nil {
		body.Close()
		return gatewayError(http.StatusBadGateway, "Internal Server Error")
	}
	h := http.Header{}
	for k, v := range prelude.Headers {
		h.Set(k, v)
	}
	for _, ck := range prelude.Cookies {
		h.Add("Set-Cookie", ck)
	}
	return streamedResponse(prelude.StatusCode, h, body)
}

func streamedResponse(status int, h http.Header, body io.ReadCloser) *http.Response {
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: body, ContentLength: -1,
	}
}

// invocationBody is a streamed response's body: at its end, or when it is
// closed (the rest is then read and dropped, as the URL does when its
// client goes), the invocation ends.
type invocationBody struct {
	r    *bufio.Reader
	end  func()
	once sync.Once
}

func (b *invocationBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil {
		b.once.Do(b.end)
	}
	return n, err
}

func (b *invocationBody) Close() error {
	go b.once.Do(func() {
		_, _ = io.Copy(io.Discard, b.r)
		b.end()
	})
	return nil
}

// httpAPIRequest encodes req as the payload 2.0 request of an HTTP API's
// $default stage: names lower-cased, repeated header and query values
// joined with commas, cookies moved to cookies[], the body base64 unless
// it is text.
func httpAPIRequest(req *http.Request) ([]byte, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	headers := map[string]string{
		"host":              "conformance.execute-api." + awsRegion + ".amazonaws.com",
		"x-forwarded-for":   "203.0.113.7",
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
		"x-amzn-trace-id":   "Root=1-6740e0a0-000000000000000000000001",
	}
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	var cookies []string
	for k, vs := range req.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				cookies = append(cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	var query map[string]string
	if q := req.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	now := time.Now()
	p := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        req.URL.EscapedPath(),
		"rawQueryString": req.URL.RawQuery,
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId": awsAccount, "apiId": "conformance", "domainName": headers["host"], "domainPrefix": "conformance",
			"http": map[string]string{
				"method": req.Method, "path": req.URL.Path, "protocol": "HTTP/1.1",
				"sourceIp": "203.0.113.7", "userAgent": req.Header.Get("User-Agent"),
			},
			"requestId": "conformance-request", "routeKey": "$default", "stage": "$default",
			"time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	if len(cookies) > 0 {
		p["cookies"] = cookies
	}
	if query != nil {
		p["queryStringParameters"] = query
	}
	if len(body) > 0 {
		if apigwText(req.Header.Get("Content-Type")) && utf8.Valid(body) {
			p["body"] = string(body)
		} else {
			p["body"], p["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return json.Marshal(p)
}

// apigwText reports whether API Gateway passes a body of this type as text.
func apigwText(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || mt == "application/x-www-form-urlencoded"
}

func gatewayError(status int, msg string) *http.Response {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return gatewayResponse(status, http.Header{"Content-Type": {"application/json"}}, b)
}

func gatewayResponse(status int, h http.Header, body []byte) *http.Response {
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
}

// -------------------------------------------------------------- events

// Deliver sends events as the event source of fn does, in one invocation.
func (c *awsClient) Deliver(ctx context.Context, fn string, evs []core.Event) (adaptertest.Outcome, error) {
	var payload []byte
	var err error
	var batch func(failures []string) ([]string, bool) // item identifiers to event ids
	switch fn {
	case "objects":
		payload, err = s3Notification(evs)
	case "messages":
		payload, err = sqsBatch(evs)
		batch = byIdentifier(evs, func(e core.Event) string { return e.Message.ID })
	case "changes":
		var seqs []string
		payload, seqs, err = dynamoDBBatch(evs)
		batch = byIdentifier(evs, func(e core.Event) string {
			for i := range evs {
				if evs[i].ID() == e.ID() {
					return seqs[i]
				}
			}
			return ""
		})
	case "stream":
		return c.deliverKinesis(evs)
	case "timer":
		if len(evs) != 1 {
			return adaptertest.Outcome{}, errors.New("a schedule invokes the function with one input")
		}
		payload, err = schedulerInput(fn, evs[0])
	default:
		return adaptertest.Outcome{}, fmt.Errorf("no event source for %s", fn)
	}
	if err != nil {
		return adaptertest.Outcome{}, err
	}
	inv, err := c.invoke(payload)
	if err != nil {
		return adaptertest.Outcome{}, err
	}
	out := adaptertest.Outcome{Reply: inv.document()}
	all := func() []string {
		ids := make([]string, len(evs))
		for i, e := range evs {
			ids[i] = e.ID()
		}
		return ids
	}
	switch {
	case inv.tooLarge || inv.fnErr != nil:
		// An asynchronous invocation is retried; a batch returns to its
		// queue or stream whole.
		out.Redelivered = all()
	case batch != nil:
		var resp struct {
			BatchItemFailures []struct {
				ItemIdentifier string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(inv.reply, &resp); err != nil {
			out.Redelivered = all() // Lambda fails a batch whose reply it cannot read
			break
		}
		var ids []string
		for _, f := range resp.BatchItemFailures {
			ids = append(ids, f.ItemIdentifier)
		}
		var ok bool
		if out.Redelivered, ok = batch(ids); !ok {
			out.Redelivered = all() // an unknown or empty identifier fails the batch
		}
	}
	return out, nil
}

// byIdentifier returns the mapping from batchItemFailures identifiers to
// the ids of evs, in batch order, with ident giving each event's identifier.
func byIdentifier(evs []core.Event, ident func(core.Event) string) func([]string) ([]string, bool) {
	return func(failures []string) ([]string, bool) {
		failed := map[string]bool{}
		for _, f := range failures {
			known := false
			for _, e := range evs {
				known = known || (f != "" && ident(e) == f)
			}
			if !known {
				return nil, false
			}
			failed[f] = true
		}
		var ids []string
		for _, e := range evs {
			if failed[ident(e)] {
				ids = append(ids, e.ID())
			}
		}
		return ids, true
	}
}

// s3Notification is the S3 event of the objects' creation, removal or
// lifecycle events, in the S3 User Guide's message structure. S3 sends no
// event id; the key is form-encoded ("red flower.jpg" is "red+flower.jpg"),
// with "/" as it is.
func s3Notification(evs []core.Event) ([]byte, error) {
	var records []any
	for _, e := range evs {
		o := e.Object
		object := map[string]any{
			"key":       strings.ReplaceAll(url.QueryEscape(o.Key), "%2F", "/"),
			"sequencer": strings.ToUpper(hexDigest(e.ID())[:18]),
		}
		record := map[string]any{
			"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": awsRegion,
			"eventTime":         e.Time().Format("2006-01-02T15:04:05.000Z"),
			"userIdentity":      map[string]string{"principalId": "AWS:AIDAEXAMPLE"},
			"requestParameters": map[string]string{"sourceIPAddress": "203.0.113.7"},
			"responseElements":  map[string]string{"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
		}
		name := "ObjectCreated:Put"
		switch e.Kind() {
		case core.KindObjectDeleted:
			name = "ObjectRemoved:Delete"
			if o.Expired {
				name = "LifecycleExpiration:Delete"
			}
		case core.KindObjectTiered:
			name = "LifecycleTransition"
			record["lifecycleEventData"] = map[string]any{"transitionEventData": map[string]string{"destinationStorageClass": o.StorageClass}}
		case core.KindObjectRestored:
			name = map[core.RestorePhase]string{core.RestoreStarted: "ObjectRestore:Post", core.RestoreCompleted: "ObjectRestore:Completed",
				core.RestoreExpired: "ObjectRestore:Delete"}[o.Restore.Phase]
			if o.Restore.Phase == core.RestoreCompleted {
				expiry := o.Restore.ExpiresAt
				if expiry.IsZero() {
					expiry = e.Time().AddDate(0, 0, 7)
				}
				record["glacierEventData"] = map[string]any{"restoreEventData": map[string]string{
					"lifecycleRestorationExpiryTime": expiry.Format("2006-01-02T15:04:05.000Z"), "lifecycleRestoreStorageClass": "STANDARD"}}
			}
		case core.KindObjectUpdated:
			name = "ObjectTagging:Put"
		case core.KindObjectReplication:
			r := o.Replication
			name = "Replication:" + r.Status
			data := map[string]string{"replicationRuleId": r.Rule, "destinationBucket": r.Destination, "s3Operation": "OBJECT_PUT",
				"requestTime": e.Time().Format("2006-01-02T15:04:05.000Z")}
			if r.FailureReason != "" {
				data["failureReason"] = r.FailureReason
			}
			record["replicationEventData"] = data
		}
		if e.Kind() != core.KindObjectDeleted {
			object["size"], object["eTag"] = o.Size, o.ETag
		}
		record["eventName"] = name
		record["s3"] = map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "conformance",
			"bucket": map[string]any{"name": o.Bucket, "ownerIdentity": map[string]string{"principalId": "A3NL1KOZZKExample"}, "arn": e.Source()},
			"object": object,
		}
		records = append(records, record)
	}
	return json.Marshal(map[string]any{"Records": records})
}

// deliverKinesis delivers stream records as a Kinesis event source
// mapping does: a batch holds one shard, so each partition of evs is an
// invocation of its own, in the order evs first name them. Lambda resumes
// a shard from the lowest sequence number its reply reports: that record
// and every later one of the shard are redelivered; a function error, an
// unreadable reply or an unknown identifier redelivers the whole shard.
func (c *awsClient) deliverKinesis(evs []core.Event) (adaptertest.Outcome, error) {
	var order []string
	shards := map[string][]core.Event{}
	for _, e := range evs {
		p := e.Record.Partition
		if _, ok := shards[p]; !ok {
			order = append(order, p)
		}
		shards[p] = append(shards[p], e)
	}
	var out adaptertest.Outcome
	var replies [][]byte
	for _, p := range order {
		batch := shards[p]
		payload, err := kinesisBatch(batch)
		if err != nil {
			return adaptertest.Outcome{}, err
		}
		inv, err := c.invoke(payload)
		if err != nil {
			return adaptertest.Outcome{}, err
		}
		replies = append(replies, inv.document())
		from := len(batch) // the first redelivered record
		var resp struct {
			BatchItemFailures []struct {
				ItemIdentifier string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		switch {
		case inv.tooLarge || inv.fnErr != nil || json.Unmarshal(inv.reply, &resp) != nil:
			from = 0
		default:
			for _, f := range resp.BatchItemFailures {
				i := slices.IndexFunc(batch, func(e core.Event) bool { return e.Record.Sequence == f.ItemIdentifier })
				if i < 0 {
					i = 0 // an unknown identifier fails the batch
				}
				from = min(from, i)
			}
		}
		for _, e := range batch[from:] {
			out.Redelivered = append(out.Redelivered, e.ID())
		}
	}
	out.Reply = bytes.Join(replies, []byte("\n"))
	return out, nil
}

// kinesisBatch is the Kinesis event of one shard's records: the shard is
// the record's partition, named in each eventID ("<shard>:<sequence>").
func kinesisBatch(evs []core.Event) ([]byte, error) {
	var records []any
	for _, e := range evs {
		r := e.Record
		records = append(records, map[string]any{
			"kinesis": map[string]any{
				"kinesisSchemaVersion": "1.0", "partitionKey": r.Key, "sequenceNumber": r.Sequence, "data": r.Data,
				"approximateArrivalTimestamp": float64(r.ArrivalTime.UnixMilli()) / 1000,
			},
			"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": r.Partition + ":" + r.Sequence,
			"eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::" + awsAccount + ":role/conformance",
			"awsRegion": awsRegion, "eventSourceARN": e.Source(),
		})
	}
	return json.Marshal(map[string]any{"Records": records})
}

// sqsBatch is the SQS event of a batch of messages from a standard queue.
func sqsBatch(evs []core.Event) ([]byte, error) {
	var records []any
	for _, e := range evs {
		m := e.Message
		attrs := map[string]any{}
		for k, v := range m.Attributes {
			attrs[k] = map[string]any{"stringValue": v, "stringListValues": []string{}, "binaryListValues": []string{}, "dataType": "String"}
		}
		sent := strconv.FormatInt(e.Time().UnixMilli(), 10)
		system := map[string]string{
			"ApproximateReceiveCount": "1", "SentTimestamp": sent, "SenderId": "AIDAIENQZJOLO23YVJ4VO",
			"ApproximateFirstReceiveTimestamp": sent,
		}
		if tr, ok := e.Trace(); ok { // the producer's trace, in X-Ray's form
			system["AWSTraceHeader"] = "Root=1-" + tr.TraceID[:8] + "-" + tr.TraceID[8:] + ";Parent=" + tr.SpanID + ";Sampled=1"
		}
		records = append(records, map[string]any{
			"messageId": m.ID, "receiptHandle": "AQEB" + hexDigest(m.ID), "body": string(m.Body),
			"attributes":        system,
			"messageAttributes": attrs, "md5OfBody": hexDigest(string(m.Body))[:32],
			"eventSource": "aws:sqs", "eventSourceARN": e.Source(), "awsRegion": awsRegion,
		})
	}
	return json.Marshal(map[string]any{"Records": records})
}

// dynamoDBBatch is the DynamoDB Streams event of a batch of changes
// (NEW_AND_OLD_IMAGES), and the sequence number of each.
func dynamoDBBatch(evs []core.Event) ([]byte, []string, error) {
	var records []any
	var seqs []string
	for i, e := range evs {
		c := e.Change
		name := map[core.Op]string{core.OpInsert: "INSERT", core.OpModify: "MODIFY", core.OpRemove: "REMOVE", core.OpWrite: "MODIFY"}[c.Op]
		seq := fmt.Sprintf("4%020d", i+1)
		seqs = append(seqs, seq)
		d := map[string]any{
			"ApproximateCreationDateTime": e.Time().Unix(), "SequenceNumber": seq, "SizeBytes": 64,
			"StreamViewType": "NEW_AND_OLD_IMAGES",
		}
		for name, doc := range map[string]json.RawMessage{"Keys": c.Key, "NewImage": c.New, "OldImage": c.Old} {
			if len(doc) == 0 {
				continue
			}
			av, err := attributeValues(doc)
			if err != nil {
				return nil, nil, fmt.Errorf("%s of %s: %w", name, e.ID(), err)
			}
			d[name] = av
		}
		records = append(records, map[string]any{
			"eventID": e.ID(), "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
			"awsRegion": awsRegion, "dynamodb": d, "eventSourceARN": e.Source() + "/stream/2026-11-01T00:00:00.000",
		})
	}
	b, err := json.Marshal(map[string]any{"Records": records})
	return b, seqs, err
}

// attributeValues encodes a plain JSON object as DynamoDB's AttributeValue
// JSON, numbers with every digit.
func attributeValues(doc json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	item := map[string]any{}
	for k, x := range v {
		item[k] = attributeValue(x)
	}
	return json.Marshal(item)
}

func attributeValue(v any) any {
	switch v := v.(type) {
	case string:
		return map[string]string{"S": v}
	case json.Number:
		return map[string]string{"N": v.String()}
	case bool:
		return map[string]bool{"BOOL": v}
	case nil:
		return map[string]bool{"NULL": true}
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = attributeValue(x)
		}
		return map[string]any{"L": l}
	case map[string]any:
		m := map[string]any{}
		for k, x := range v {
			m[k] = attributeValue(x)
		}
		return map[string]any{"M": m}
	}
	panic(fmt.Sprintf("no attribute value for %T", v))
}

// schedulerInput is what EventBridge Scheduler sends for polyfn's schedule
// input for function fn (awslambda.SchedulerInput, as polyfn build
// configures it) once it has filled in its context attributes; the
// schedule's ARN is the event's source and its timer's name.
func schedulerInput(fn string, e core.Event) ([]byte, error) {
	if e.Timer.Name != e.Source() {
		return nil, fmt.Errorf("a schedule's timer is named by its ARN %s, not %q", e.Source(), e.Timer.Name)
	}
	tmpl := awslambda.SchedulerInput(fn)
	return []byte(strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", e.Timer.ScheduledTime.UTC().Format(time.RFC3339),
		"<aws.scheduler.schedule-arn>", e.Source(),
		"<aws.scheduler.execution-id>", e.ID(),
		"<aws.scheduler.attempt-number>", "1",
	).Replace(tmpl)), nil
}

func hexDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

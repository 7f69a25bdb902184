package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The payloads: the adapters' own testdata (written from each cloud's
// documentation and captures) and, for the forms they have none of,
// testdata/inspect/<cloud>.
const (
	awsData   = "../../adapters/awslambda/testdata/"
	gcpData   = "../../adapters/gcpfunctions/testdata/"
	azureData = "../../adapters/azurefunctions/testdata/invocations/"
	ownData   = "testdata/inspect/"
)

// inspectCase is one golden inspection: polyfn inspect args file, whose
// output is testdata/inspect/golden/<name>.json.
type inspectCase struct {
	name string
	args []string
	file string
}

// flags joins flag lists.
func flags(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func headers(hs ...string) []string {
	var out []string
	for _, h := range hs {
		out = append(out, "--header", h)
	}
	return out
}

// runtimeHeaders are the Lambda Runtime API's headers of an invocation.
var runtimeHeaders = headers(
	"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd",
	"Lambda-Runtime-Deadline-Ms: 1795402830000",
	"Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
	"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:orders",
)

func aws(trigger string, extra ...string) []string {
	return flags([]string{"--cloud", "aws", "--transport", "lambda", "--trigger", trigger}, runtimeHeaders, extra)
}

func gcp(trigger string, extra ...string) []string {
	return flags([]string{"--cloud", "gcp", "--transport", "http", "--trigger", trigger}, extra)
}

// binaryCE are the headers of a binary-mode CloudEvent as Eventarc sends it.
func binaryCE(typ, source, subject, id, contentType string, more ...string) []string {
	hs := []string{"Ce-Specversion: 1.0", "Ce-Id: " + id, "Ce-Type: " + typ, "Ce-Source: " + source,
		"Ce-Time: 2026-11-21T10:30:00.123Z", "Content-Type: " + contentType}
	if subject != "" {
		hs = append(hs, "Ce-Subject: "+subject)
	}
	return headers(append(hs, more...)...)
}

// gridData holds the adapter's Event Grid deliveries.
const gridData = "../../adapters/azurefunctions/testdata/eventgrid/"

// eventGrid is Event Grid's POST to function's endpoint, as the host
// proxies it.
func eventGrid(trigger, function, contentType, aegType string) []string {
	return flags([]string{"--cloud", "azure", "--transport", "http", "--trigger", trigger, "--method", "POST",
		"--url", "/api/_polyfn/eventgrid/" + function + "?code=function-key"},
		headers("x-ms-invocation-id: 7f4e", "Content-Type: "+contentType, "aeg-event-type: "+aegType,
			"aeg-subscription-name: "+strings.ToUpper(function), "aeg-delivery-count: 0"))
}

func azure(trigger, function string, extra ...string) []string {
	return flags([]string{"--cloud", "azure", "--transport", "custom-handler", "--trigger", trigger, "--url", "/" + function},
		headers("X-Azure-Functions-InvocationId: 3c1e5a2b-8f4d-4e6a-9b7c-1d2e3f4a5b6c"), extra)
}

const (
	bucketSource    = "//storage.googleapis.com/projects/_/buckets/media-bucket"
	topicSource     = "//pubsub.googleapis.com/projects/my-project/topics/orders"
	firestoreSource = "//firestore.googleapis.com/projects/my-project/databases/(default)"
	traceparent     = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

var inspectCases = []inspectCase{
	// AWS Lambda: every event shape.
	{"aws-apigw-v1-rest", aws("http", "--route", "POST /echo/{name}"), awsData + "apigw-v1-rest.json"},
	{"aws-apigw-v1-null-maps", aws("http"), awsData + "apigw-v1-null-maps.json"},
	{"aws-apigw-v2-get", aws("http", "--route", "GET /users/{id}"), awsData + "apigw-v2-get.json"},
	{"aws-apigw-v2-post", aws("http"), awsData + "apigw-v2-post.json"},
	{"aws-apigw-v2-binary", aws("http"), awsData + "apigw-v2-binary.json"},
	{"aws-function-url", aws("http"), awsData + "function-url.json"},
	{"aws-alb-single", aws("http"), awsData + "alb-single.json"},
	{"aws-alb-multi", aws("http"), awsData + "alb-multi.json"},
	{"aws-s3-put", aws("object"), awsData + "s3-put.json"},
	{"aws-s3-delete", aws("object"), awsData + "s3-delete.json"},
	{"aws-sqs", aws("message"), awsData + "sqs.json"},
	{"aws-sqs-traced", aws("message"), ownData + "aws/sqs-traced.json"},
	{"aws-sqs-fifo", aws("message"), awsData + "sqs-fifo.json"},
	{"aws-sqs-sns", aws("message"), awsData + "sqs-sns.json"},
	{"aws-sns", aws("message"), awsData + "sns.json"},
	{"aws-eventbridge-custom", aws("message"), awsData + "eventbridge-custom.json"},
	{"aws-eventbridge-scheduled", aws("timer"), awsData + "eventbridge-scheduled.json"},
	{"aws-scheduler", aws("timer"), ownData + "aws/scheduler.json"},
	{"aws-dynamodb", aws("change"), awsData + "dynamodb.json"},
	{"aws-s3-restore", aws("object"), awsData + "s3/restore-completed.json"},
	{"aws-s3-lifecycle-transition", aws("object"), awsData + "s3/lifecycle-transition.json"},
	{"aws-kinesis", aws("stream"), awsData + "streams/kinesis.json"},
	{"aws-msk", aws("stream"), awsData + "streams/msk.json"},

	// Google Cloud Functions: plain HTTP, CloudEvents in both modes, the
	// legacy forms the framework converts, and Cloud Scheduler.
	{"gcp-http", gcp("http", "--method", "POST", "--url", "/users/7?tag=a&tag=b&q=caf%C3%A9", "--route", "POST /users/{id}",
		"--header", "Content-Type: application/json", "--header", "Function-Execution-Id: 5t8bq2kmc0vx",
		"--header", traceparent, "--header", "X-Cloud-Trace-Context: 4bf92f3577b34da6a3ce929d0e0e4736/7318483906349231876;o=1",
		"--header", "Cookie: session=abc; theme=dark", "--header", "X-Forwarded-For: 203.0.113.7"), ownData + "gcp/http-post.json"},
	{"gcp-storage-finalized-binary", gcp("object", binaryCE("google.cloud.storage.object.v1.finalized", bucketSource,
		"objects/uploads/red+flower 1.jpg", "1147091835525187", "application/json", traceparent)...), gcpData + "storage/finalized.json"},
	{"gcp-storage-deleted-structured", gcp("object", "--header", "Content-Type: application/cloudevents+json; charset=utf-8"),
		ownData + "gcp/storage-deleted-structured.json"},
	{"gcp-storage-legacy", gcp("object", "--header", "Content-Type: application/json"), gcpData + "legacy/storage-finalize.json"},
	{"gcp-pubsub-binary", gcp("message", binaryCE("google.cloud.pubsub.topic.v1.messagePublished", topicSource, "",
		"2070443601311540", "application/json")...), gcpData + "pubsub/full.json"},
	{"gcp-pubsub-attributes-only", gcp("message", binaryCE("google.cloud.pubsub.topic.v1.messagePublished", topicSource, "",
		"7", "application/json")...), gcpData + "pubsub/attributes-only.json"},
	{"gcp-pubsub-legacy", gcp("message", "--header", "Content-Type: application/json"), gcpData + "legacy/pubsub-publish.json"},
	{"gcp-pubsub-push", gcp("message", "--url", "/projects/my-project/topics/orders", "--header", "Content-Type: application/json"),
		gcpData + "legacy/pubsub-push.json"},
	{"gcp-pubsub-push-dead-letter", gcp("message", "--url", "/", "--header", "Content-Type: application/json",
		"--header", "Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ownData + "gcp/pubsub-push-dead-letter.json"},
	{"gcp-firestore-created-proto", gcp("change", binaryCE("google.cloud.firestore.document.v1.created", firestoreSource,
		"documents/users/u1", "a8e5b0b4-6c6f-4a1d-9b8e-2f3a4c5d6e7e", "application/protobuf",
		"Ce-Database: (default)", "Ce-Namespace: (default)", "Ce-Document: users/u1")...), gcpData + "firestore/created.pb"},
	{"gcp-firestore-updated-structured-proto", gcp("change", "--header", "Content-Type: application/cloudevents+json"),
		ownData + "gcp/firestore-updated-structured.json"},
	{"gcp-firestore-written-json", gcp("change", binaryCE("google.cloud.firestore.document.v1.written", firestoreSource,
		"documents/users/u1", "a8e5b0b4-6c6f-4a1d-9b8e-2f3a4c5d6e80", "application/json")...), gcpData + "firestore/updated.json"},
	{"gcp-firestore-deleted-proto", gcp("change", binaryCE("google.cloud.firestore.document.v1.deleted", firestoreSource,
		"documents/users/u1", "a8e5b0b4-6c6f-4a1d-9b8e-2f3a4c5d6e81", "application/protobuf")...), gcpData + "firestore/deleted.pb"},
	{"gcp-scheduler-pubsub", gcp("timer", binaryCE("google.cloud.pubsub.topic.v1.messagePublished",
		"//pubsub.googleapis.com/projects/my-project/topics/nightly-report", "", "7", "application/json")...),
		gcpData + "pubsub/attributes-only.json"},
	{"gcp-scheduler-http", gcp("timer", "--header", "Content-Type: application/octet-stream",
		"--header", "X-CloudScheduler: true", "--header", "X-CloudScheduler-JobName: nightly-report",
		"--header", "X-CloudScheduler-ScheduleTime: 2026-11-22T04:00:00+01:00", "--header", "User-Agent: Google-Cloud-Scheduler",
		"--header", "Function-Execution-Id: 9x2kq7mc4d1p"),
		ownData + "gcp/scheduler-http.json"},

	// Azure Functions custom handlers: default-mode invocations of every
	// trigger, and HTTP requests the host forwards or proxies.
	{"azure-http-default", azure("http", "get-users-id", "--route", "GET /echo/{kind}/{rest...}"), azureData + "http-query.json"},
	{"azure-http-default-octet", azure("http", "post-upload"), azureData + "http-octet.json"},
	{"azure-http-forwarded", []string{"--cloud", "azure", "--transport", "http", "--trigger", "http", "--method", "POST",
		"--url", "/api/users/7?tag=a%2Cb", "--route", "POST /users/{id}", "--header", "X-Azure-Functions-InvocationId: 5d2c",
		"--header", "X-Original-URL: /api/users/7?tag=a&tag=b", "--header", "Content-Type: application/json", "--header", traceparent},
		ownData + "azure/forwarded-post.json"},
	{"azure-http-proxied", []string{"--cloud", "azure", "--transport", "http", "--trigger", "http", "--method", "GET",
		"--url", "/api/users/7?tag=a&tag=b", "--header", "x-ms-invocation-id: 6e3d", "--header", "Cookie: session=abc"}, ""},
	{"azure-blob", azure("object", "on-upload"), azureData + "blob-trigger.json"},
	{"azure-eventgrid-created", azure("object", "on-upload"), azureData + "eventgrid-created.json"},
	{"azure-eventgrid-deleted", azure("object", "on-delete"), azureData + "eventgrid-deleted.json"},
	{"azure-eventgrid-cloudevent", azure("object", "on-upload"), azureData + "eventgrid-cloudevent.json"},
	// Event Grid's webhook deliveries to an event function's endpoint:
	// proxied (a batch, the validation handshake, a custom topic's event)
	// and as a default-mode invocation of the function's httpTrigger.
	{"azure-eventgrid-webhook-batch", eventGrid("object", "on-lifecycle", "application/json", "Notification"), ownData + "azure/eventgrid-tier-batch.json"},
	{"azure-eventgrid-webhook-custom-topic", eventGrid("message", "on-orders", "application/cloudevents+json", "Notification"), gridData + "custom-topic-cloudevent.json"},
	{"azure-eventgrid-webhook-default", azure("object", "on-lifecycle"), ownData + "azure/eventgrid-webhook-default.json"},
	{"azure-queue", azure("message", "on-queue"), azureData + "queue-string.json"},
	{"azure-queue-json", azure("message", "on-queue"), azureData + "queue-json.json"},
	{"azure-servicebus", azure("message", "on-bus"), azureData + "servicebus-string.json"},
	{"azure-servicebus-binary", azure("message", "on-bus"), azureData + "servicebus-binary.json"},
	{"azure-servicebus-all", azure("message", "on-bus"), azureData + "servicebus-all.json"},
	{"azure-servicebus-batch", azure("message", "on-bus"), azureData + "servicebus-batch.json"},
	{"azure-eventhubs-batch", azure("stream", "on-stream"), azureData + "eventhubs-batch.json"},
	{"azure-cosmos", azure("change", "on-change"), azureData + "cosmos-many.json"},
	{"azure-timer-status", azure("timer", "on-timer"), azureData + "timer-status.json"},
	{"azure-timer-null", azure("timer", "on-timer"), azureData + "timer-null.json"},
}

// inspectRun runs polyfn inspect in this process with FILE (none: empty
// standard input) and returns its exit status and outputs.
func inspectRun(t *testing.T, args []string, file string) (int, string, string) {
	t.Helper()
	t.Setenv("CLOUD_RUN_TIMEOUT_SECONDS", "") // no deadline from the test's environment
	if file == "" {
		old := stdin
		stdin = strings.NewReader("")
		t.Cleanup(func() { stdin = old })
	} else {
		args = append(args, file)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"inspect"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func goldenPath(name string) string {
	return filepath.Join("testdata", "inspect", "golden", name+".json")
}

// TestInspectGolden decodes every payload form of the adapter issues and
// compares the JSON with its golden file; refresh them with
// go test ./cmd/polyfn -run InspectGolden -update and review the diff.
func TestInspectGolden(t *testing.T) {
	for _, tt := range inspectCases {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := inspectRun(t, tt.args, tt.file)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			if !json.Valid([]byte(stdout)) {
				t.Fatalf("the output is not JSON:\n%s", stdout)
			}
			path := goldenPath(tt.name)
			if *update {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestInspectForm checks the conventions of the JSON form on the goldens,
// beyond their text: every key present, full-precision numbers, times.
func TestInspectForm(t *testing.T) {
	keys := []string{"kind", "invocation_id", "event_id", "deadline", "trace", "source", "ce", "http", "objects", "messages", "changes", "timer"}
	for _, tt := range inspectCases {
		b, err := os.ReadFile(goldenPath(tt.name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := keys
		if string(m["kind"]) == `"records"` {
			want = append(slices.Clone(keys), "records") // a stream trigger's alone
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q", tt.name, k)
			}
		}
		if len(m) != len(want) {
			t.Errorf("%s: %d keys, want %d", tt.name, len(m), len(want))
		}
	}
	mustContain := map[string][]string{
		"aws-dynamodb":                   {`"visits": 9007199254740993`, `"op": "remove"`, `"by_ttl": true`},
		"aws-sqs-traced":                 {`"delivery_count": 2`, `"format": "xray"`, `"body_is_json": true`},
		"aws-sqs-fifo":                   {`"group_id": "customer-7"`, `"dedup_id": "d-1"`},
		"aws-sqs-sns":                    {`"unwrapped": {`, `"kind": "sns"`},
		"aws-s3-put":                     {`"key": "uploads/red flower+1.jpg"`},
		"aws-s3-restore":                 {`"kind": "object_restored"`, `"phase": "completed"`, `"expires_at": "2026-11-28T00:00:00Z"`},
		"aws-s3-lifecycle-transition":    {`"kind": "object_tiered"`, `"storage_class": "GLACIER"`},
		"aws-kinesis":                    {`"kind": "records"`, `"partition": "shardId-000000000000"`},
		"aws-msk":                        {`"kind": "records"`, `"partition": "10"`, `"id": "ledger-1:8"`},
		"aws-scheduler":                  {`"event_id": "d2a6a0ff-4b8e-4a67-9f4e-4c8e6f4b2a10"`, `"attempt": 1`, `"scheduled_time": "2025-11-22T03:00:00Z"`, `"name": "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly-report"`},
		"gcp-storage-finalized-binary":   {`"size": 9007199254740993`, `"key": "uploads/red+flower 1.jpg"`},
		"gcp-firestore-written-json":     {`"visits": 9007199254740994`},
		"gcp-scheduler-http":             {`"name": "nightly-report"`, `"scheduled_time": "2026-11-22T03:00:00Z"`, `"payload_base64": "eyJyZXBvcnQiOiJkYWlseSJ9"`},
		"gcp-scheduler-pubsub":           {`"name": "nightly-report"`, `"scheduled_time": "2026-11-22T03:00:00.004Z"`},
		"azure-cosmos":                   {`"op": "write"`, `"old": null`},
		"azure-timer-null":               {`"scheduled_time": "2022-07-05T11:40:07.4850616Z"`},
		"azure-timer-status":             {`"past_due": true`, `"scheduled_time": "2026-11-21T10:30:00Z"`, `"name": "on-timer"`},
		"azure-servicebus":               {`"group_id": "customer-7"`, `"format": "w3c"`},
		"azure-http-forwarded":           {`"tag": ["a", "b"]`, `"id": "7"`},
		"aws-eventbridge-scheduled":      {`"name": "arn:aws:events:us-east-1:123456789012:rule/nightly-report"`},
		"gcp-pubsub-push":                {`"source": "//pubsub.googleapis.com/projects/my-project/topics/orders"`},
		"gcp-storage-deleted-structured": {`"kind": "object_deleted"`, `"format": "w3c"`},
	}
	for name, subs := range mustContain {
		b, err := os.ReadFile(goldenPath(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s has no %s", name, s)
			}
		}
	}
}

// TestInspectMalformed: input no adapter accepts gives a clear error on
// standard error, nothing on standard output, and a non-zero exit status.
func TestInspectMalformed(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		file string
		code int
		want string // in stderr
	}{
		{"aws: not JSON", aws("http"), file("not.json", "{"), 1, "not a JSON object of a known event"},
		{"aws: unknown shape", aws("message"), file("unknown.json", `{"hello":"world"}`), 1, "not an event polyfn knows"},
		{"aws: S3 record without a key", aws("object"), file("s3.json",
			`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}`),
			1, "no bucket name or object key"},
		{"aws: SQS record without an id", aws("message"), file("sqs.json", `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`), 1, "no messageId"},
		{"aws: DynamoDB number that is not one", aws("change"), file("ddb.json",
			`{"Records":[{"eventSource":"aws:dynamodb","eventID":"1","eventName":"INSERT","dynamodb":{"SequenceNumber":"1","NewImage":{"n":{"N":"1e"}}}}]}`),
			1, "want a number in a string"},
		{"aws: body not base64", aws("http"), file("b64.json",
			`{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"POST"}},"body":"***","isBase64Encoded":true}`),
			1, "not base64"},
		{"aws: deadline not a number", flags([]string{"--cloud", "aws", "--trigger", "timer"}, headers("Lambda-Runtime-Deadline-Ms: soon")),
			awsData + "eventbridge-scheduled.json", 1, "Lambda-Runtime-Deadline-Ms"},
		{"aws: scheduler input with a bad time", aws("timer"), file("sched.json",
			`{"job":"j","schedule_arn":"arn:aws:scheduler:::schedule/default/j","scheduled_at":"tomorrow"}`), 1, "scheduled_at"},
		{"aws: trigger that does not take the events", aws("object"), awsData + "sqs.json", 1, "use --trigger message"},
		{"aws: events for an http trigger", aws("http"), awsData + "sqs.json", 1, "not an HTTP request"},
		{"gcp: storage event without a name", gcp("object", binaryCE("google.cloud.storage.object.v1.finalized", bucketSource, "", "e-1", "application/json")...),
			file("gcs.json", `{"bucket":"b"}`), 1, "has no object name"},
		{"gcp: pub/sub data not base64", gcp("message", binaryCE("google.cloud.pubsub.topic.v1.messagePublished", topicSource, "", "m-1", "application/json")...),
			file("ps.json", `{"message":{"data":"***"}}`), 1, "decoding the data"},
		{"gcp: firestore protobuf that is not", gcp("change", binaryCE("google.cloud.firestore.document.v1.created", firestoreSource, "documents/a/b", "f-1", "application/protobuf")...),
			file("fs.pb", "\xff\xff\xff"), 1, "firestore event"},
		{"gcp: CloudEvent without an id", gcp("message", "--header", "Ce-Specversion: 1.0", "--header", "Ce-Type: t", "--header", "Ce-Source: s"),
			file("ce.json", `{}`), 1, "the CloudEvent is not valid"},
		{"gcp: legacy event the framework cannot convert", gcp("object", "--header", "Content-Type: application/json"),
			file("legacy.json", `{"context":{"eventId":"1"},"data":"x"}`), 1, "is not one polyfn maps"},
		{"gcp: scheduler time", gcp("timer", "--header", "X-CloudScheduler-JobName: j", "--header", "X-CloudScheduler-ScheduleTime: now"),
			"", 1, "not an RFC 3339 time"},
		{"gcp: a type polyfn does not model", gcp("message", binaryCE("com.example.thing", "//example", "", "x-1", "application/json")...),
			file("custom.json", `{}`), 1, "does not model"},
		{"azure: not JSON", azure("message", "on-queue"), file("az.json", "{"), 1, "malformed invocation request"},
		{"azure: no binding", azure("timer", "on-timer"), file("az-timer.json", `{"Data":{},"Metadata":{}}`), 1, `no "timer" binding`},
		{"azure: IsPastDue not a bool", azure("timer", "on-timer"), file("az-pastdue.json", `{"Data":{"timer":{"IsPastDue":"maybe"}},"Metadata":{}}`), 1, "IsPastDue"},
		{"azure: blob Uri not a URL", azure("object", "on-upload"), file("az-blob.json", `{"Data":{"blob":"aGk="},"Metadata":{"Uri":"\"nope\""}}`), 1, "not an http(s) URL"},
		{"azure: Event Grid validation", eventGrid("object", "on-lifecycle", "application/json", "SubscriptionValidation"), gridData + "validation.json", 1, "the function would not be called"},
		{"azure: Event Grid, not JSON", eventGrid("object", "on-lifecycle", "application/json", "Notification"), file("az-grid.json", `[{"id":`), 1, "not JSON"},
		{"azure: Event Grid, custom topic to an object function", eventGrid("object", "on-lifecycle", "application/json", "Notification"), gridData + "custom-topic.json", 1, "not an Azure Storage event"},
		{"azure: no invocation id", []string{"--cloud", "azure", "--trigger", "message", "--url", "/on-queue"}, azureData + "queue-string.json", 1, "X-Azure-Functions-InvocationId"},
		{"azure: function name", azure("message", "On_Queue"), azureData + "queue-string.json", 1, "function name"},
		{"azure: forwarded path outside the prefix", []string{"--cloud", "azure", "--transport", "http", "--trigger", "http", "--url", "/users"}, "", 1, "HTTP paths start with /api/"},
		{"azure: HTTP body not base64", azure("http", "post-upload"), file("az-http.json",
			`{"Data":{"req":{"Url":"http://h/api/x","Method":"POST","Headers":{"Content-Type":["application/octet-stream"]},"Body":"***"}}}`), 1, "not base64"},
		{"route that does not match", aws("http", "--route", "GET /orders/{id}"), awsData + "apigw-v2-get.json", 1, "does not match"},
		{"usage: no cloud", []string{"--trigger", "http"}, "", 2, "--cloud must be"},
		{"usage: transport of another cloud", []string{"--cloud", "gcp", "--transport", "lambda", "--trigger", "http"}, "", 2, "--transport for gcp"},
		{"usage: unknown trigger", []string{"--cloud", "aws", "--trigger", "queue"}, "", 2, "--trigger must be"},
		{"usage: timeout not whole seconds", []string{"--cloud", "gcp", "--trigger", "http", "--timeout", "1500ms"}, "", 2, "--timeout 1.5s"},
		{"usage: timeout above 15 minutes", []string{"--cloud", "gcp", "--trigger", "http", "--timeout", "1h"}, "", 2, "at most 15m0s"},
		{"missing file", aws("http"), filepath.Join(dir, "absent.json"), 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := inspectRun(t, tt.args, tt.file)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no output and an error with %q", code, stdout, stderr, tt.code, tt.want)
			}
			if tt.code == 1 && !strings.HasPrefix(stderr, "polyfn inspect: ") {
				t.Errorf("stderr %q does not name the command", stderr)
			}
		})
	}
}

// TestInspectGCPDeadline: under the framework, an invocation's deadline is
// its unit's declared timeout (--timeout; 30 s by default, as the goldens
// show), or Cloud Run's request timeout (CLOUD_RUN_TIMEOUT_SECONDS) when
// that is earlier, for an event function and an HTTP function alike.
func TestInspectGCPDeadline(t *testing.T) {
	message := flags(gcp("message", binaryCE("google.cloud.pubsub.topic.v1.messagePublished", topicSource, "", "d-1", "application/json")...))
	httpFn := gcp("http", "--method", "GET", "--url", "/users/7")
	for _, tt := range []struct {
		name     string
		args     []string
		cloudRun string // CLOUD_RUN_TIMEOUT_SECONDS
		file     string
		want     int64 // timeout_ms
	}{
		{"event function, declared", flags(message, []string{"--timeout", "2m"}), "", gcpData + "pubsub/full.json", 120000},
		{"event function, declared before Cloud Run's", flags(message, []string{"--timeout", "10s"}), "60", gcpData + "pubsub/full.json", 10000},
		{"event function, Cloud Run's before the declared", flags(message, []string{"--timeout", "2m"}), "60", gcpData + "pubsub/full.json", 60000},
		{"HTTP function, declared", flags(httpFn, []string{"--timeout", "5s"}), "", "", 5000},
		{"HTTP function, Cloud Run's before the default", httpFn, "20", "", 20000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file == "" {
				old := stdin
				stdin = strings.NewReader("")
				t.Cleanup(func() { stdin = old })
			} else {
				args = append(args, tt.file)
			}
			t.Setenv("CLOUD_RUN_TIMEOUT_SECONDS", tt.cloudRun)
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), append([]string{"inspect"}, args...), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var got struct {
				Deadline struct {
					Present   bool
					UnixMS    *int64 `json:"unix_ms"`
					TimeoutMS *int64 `json:"timeout_ms"`
				}
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if d := got.Deadline; !d.Present || d.UnixMS != nil || d.TimeoutMS == nil || *d.TimeoutMS != tt.want {
				t.Errorf("deadline %s, want present, timeout_ms %d", stdout.Bytes()[:min(stdout.Len(), 200)], tt.want)
			}
		})
	}
}

// TestInspectAzureDeadline: on Azure, an invocation's deadline is its
// function's declared timeout (--timeout), for an event function and an
// HTTP function alike.
func TestInspectAzureDeadline(t *testing.T) {
	for _, tt := range []inspectCase{
		{"event function", azure("message", "on-queue", "--timeout", "2m"), azureData + "queue-string.json"},
		{"HTTP function", azure("http", "post-upload", "--timeout", "2m"), azureData + "http-octet.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := inspectRun(t, tt.args, tt.file)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got struct {
				Deadline struct {
					TimeoutMS *int64 `json:"timeout_ms"`
				}
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			if d := got.Deadline.TimeoutMS; d == nil || *d != 120000 {
				t.Errorf("deadline %v, want timeout_ms 120000", d)
			}
		})
	}
}

// TestInspectStdin reads the payload from standard input with "-".
func TestInspectStdin(t *testing.T) {
	b, err := os.ReadFile(awsData + "sns.json")
	if err != nil {
		t.Fatal(err)
	}
	old := stdin
	stdin = bytes.NewReader(b)
	t.Cleanup(func() { stdin = old })
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), append([]string{"inspect"}, aws("message", "-")...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want, err := os.ReadFile(goldenPath("aws-sns"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), stdout.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// docExample marks an example in docs/events.md that shows a golden
// inspection, its command and its output:
//
//	<!-- polyfn inspect: NAME -->
//	```sh
//	polyfn inspect …
//	```
//	```json
//	{…}
//	```
var docExample = regexp.MustCompile("(?s)(<!-- polyfn inspect: ([a-z0-9-]+) -->\\n)```sh\\n.*?```\\n```json\\n.*?```\\n")

// TestInspectDocsExamples: every example of the JSON form in docs/events.md
// is a golden case, its command and its output, so the documentation stays
// true (with -update the examples are rewritten from the goldens); and there
// is one per cloud and trigger.
func TestInspectDocsExamples(t *testing.T) {
	const path = "../../docs/events.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]inspectCase{}
	for _, tt := range inspectCases {
		cases[tt.name] = tt
	}
	shown := map[string]bool{}
	updated := docExample.ReplaceAllStringFunc(string(doc), func(block string) string {
		m := docExample.FindStringSubmatch(block)
		name := m[2]
		tt, ok := cases[name]
		if !ok {
			t.Errorf("docs/events.md shows %q, which is no golden case", name)
			return block
		}
		shown[name] = true
		out, err := os.ReadFile(goldenPath(name))
		if err != nil {
			t.Fatal(err)
		}
		want := m[1] + "```sh\n" + docCommand(tt) + "```\n```json\n" + string(out) + "```\n"
		if block != want && !*update {
			t.Errorf("docs/events.md, example %s (-doc +golden):\n%s", name, cmp.Diff(block, want))
		}
		return want
	})
	if *update && updated != string(doc) {
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, cloud := range []string{"aws", "gcp", "azure"} {
		for _, trigger := range []string{"http", "object", "message", "change", "timer"} {
			found := false
			for _, tt := range inspectCases {
				if shown[tt.name] && strings.HasPrefix(tt.name, cloud+"-") && argValue(tt.args, "--trigger") == trigger {
					found = true
				}
			}
			if !found {
				t.Errorf("docs/events.md has no example for %s, trigger %s", cloud, trigger)
			}
		}
	}
}

// docCommand is the command line of a case as run from the repository's
// root: one flag a line, quoted for a POSIX shell.
func docCommand(tt inspectCase) string {
	var b strings.Builder
	b.WriteString("polyfn inspect")
	args := tt.args
	for i := 0; i < len(args); i++ {
		if i >= 6 && strings.HasPrefix(args[i], "--") { // after --cloud, --transport, --trigger
			b.WriteString(" \\\n   ")
		}
		b.WriteString(" " + docQuote(args[i]))
	}
	file := strings.TrimPrefix(tt.file, "../../")
	if strings.HasPrefix(file, ownData) {
		file = "cmd/polyfn/" + file
	}
	if file == "" {
		file = "/dev/null"
	}
	b.WriteString(" \\\n    " + docQuote(file) + "\n")
	return b.String()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// docQuote quotes s for a POSIX shell when it needs it.
func docQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func argValue(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// FuzzInspect: no Lambda event or Azure invocation makes inspect panic, and
// what it prints for one it accepts is JSON.
func FuzzInspect(f *testing.F) {
	triggers := []string{"http", "object", "message", "change", "timer"}
	for _, dir := range []string{awsData, azureData} {
		files, _ := filepath.Glob(dir + "*.json")
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			for i := range triggers {
				if dir == azureData {
					i += len(triggers)
				}
				f.Add(uint8(i), b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, choice uint8, payload []byte) {
		in := inspectInput{transport: "lambda", trigger: triggers[int(choice)%len(triggers)], header: http.Header{}, body: payload, start: time.Now()}
		inspector := inspectAWS
		if int(choice)%(2*len(triggers)) >= len(triggers) {
			in.transport, in.url, inspector = "custom-handler", "/fn", inspectAzure
			in.header.Set("X-Azure-Functions-InvocationId", "inv")
		}
		d, err := inspector(t.Context(), in)
		if err != nil {
			return
		}
		out, err := encodeDelivery(d, in, "")
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := writeJSON(&b, out); err != nil || !json.Valid(b.Bytes()) {
			t.Fatalf("output %q, error %v", b.Bytes(), err)
		}
	})
}

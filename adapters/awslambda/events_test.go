package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func invokeEvents(t *testing.T, h *Handler, payload []byte) []byte {
	t.Helper()
	out, err := h.Invoke(lambdaContext(t, time.Now().Add(time.Minute)), payload)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func batchFailures(t *testing.T, reply []byte) []string {
	t.Helper()
	var r events.SQSEventResponse
	if err := json.Unmarshal(reply, &r); err != nil || r.BatchItemFailures == nil {
		t.Fatalf("reply %s is not a batch response (%v)", reply, err)
	}
	ids := []string{}
	for _, f := range r.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestS3(t *testing.T) {
	h, rec := newTestHandler(t)
	if out := invokeEvents(t, h, readTestdata(t, "s3-put.json")); string(out) != "null" {
		t.Errorf("reply: got %s, want null", out)
	}
	invokeEvents(t, h, readTestdata(t, "s3-delete.json"))
	got := rec.got("thumbs")
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3", len(got))
	}
	tests := []struct {
		kind core.Kind
		key  string
		size int64
	}{
		{core.KindObjectCreated, "uploads/red flower+1.jpg", 1024}, // "+" is a space, "%2B" a plus
		{core.KindObjectCreated, "uploads/café ☕.png", 1024},
		{core.KindObjectDeleted, "uploads/old.png", 0},
	}
	for i, tt := range tests {
		e := got[i]
		if e.Kind() != tt.kind || e.Object.Key != tt.key || e.Subject() != tt.key || e.Object.Size != tt.size {
			t.Errorf("event %d: got %s key %q subject %q size %d, want %s %q size %d",
				i, e.Kind(), e.Object.Key, e.Subject(), e.Object.Size, tt.kind, tt.key, tt.size)
		}
		if e.Object.Bucket != "media" || e.Source() != "arn:aws:s3:::media" || e.ID() == "" {
			t.Errorf("event %d: bucket %q source %q id %q", i, e.Object.Bucket, e.Source(), e.ID())
		}
	}
	if e := got[0]; e.NativeType() != "ObjectCreated:Put" || e.Object.ETag != "0123456789abcdef0123456789abcdef" ||
		!e.Time().Equal(time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("event 0: native type %q, etag %q, time %v", e.NativeType(), e.Object.ETag, e.Time())
	}
	if got[0].ID() == got[1].ID() {
		t.Error("two objects' events have one id")
	}

	// The same notification again has the same id, so idempotency keys hold.
	invokeEvents(t, h, readTestdata(t, "s3-put.json"))
	if again := rec.got("thumbs")[3]; again.ID() != got[0].ID() {
		t.Errorf("redelivered event id %q, want %q", again.ID(), got[0].ID())
	}
}

func TestEventNoFunctionAccepts(t *testing.T) {
	h, _ := newTestHandler(t)
	_, err := h.Invoke(t.Context(), readTestdata(t, "s3-other-prefix.json"))
	fe := functionErr(t, err)
	if fe.Type != "Polyfn.NotFound" || !strings.Contains(fe.Message, "private/secret.png") {
		t.Errorf("got %+v, want a NotFound error naming the key", fe)
	}
}

func TestSQS(t *testing.T) {
	h, rec := newTestHandler(t)
	if ids := batchFailures(t, invokeEvents(t, h, readTestdata(t, "sqs.json"))); len(ids) != 0 {
		t.Errorf("failures: got %q, want none", ids)
	}
	got := rec.got("orders")
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	e := got[0]
	want := &core.Message{
		ID:            "059f36b4-87a3-44ab-83d2-661975830a7d",
		Body:          []byte("Test message."),
		Attributes:    map[string]string{"content-type": "text/plain", "count": "42", "blob": "AAH+"},
		DeliveryCount: 1,
		PublishTime:   time.UnixMilli(1545082649183).UTC(),
		Subscription:  "arn:aws:sqs:us-east-2:123456789012:orders",
		ContentType:   "text/plain",
	}
	if d := cmp.Diff(want, e.Message); d != "" {
		t.Errorf("message (-want +got):\n%s", d)
	}
	if e.ID() != want.ID || e.Source() != want.Subscription || e.Type() != core.TypeMessage || e.NativeType() != "aws:sqs" {
		t.Errorf("envelope: id %q source %q type %q native %q", e.ID(), e.Source(), e.Type(), e.NativeType())
	}
	if got[1].Message.DeliveryCount != 3 {
		t.Errorf("delivery count: got %d, want 3", got[1].Message.DeliveryCount)
	}
}

// TestSQSPartialFailure: one poisoned message in a batch of ten is the only
// one reported, and the other nine are handled.
func TestSQSPartialFailure(t *testing.T) {
	h, rec := newTestHandler(t)
	rec.fail = func(_ string, e core.Event) error {
		if !json.Valid(e.Message.Body) {
			return core.Errorf(core.InvalidArgument, "not an order")
		}
		return nil
	}
	ids := batchFailures(t, invokeEvents(t, h, readTestdata(t, "sqs-batch-poison.json")))
	if want := []string{"00000000-0000-4000-8000-000000000006"}; !cmp.Equal(ids, want) {
		t.Errorf("failures: got %q, want %q", ids, want)
	}
	if n := len(rec.got("orders")); n != 10 {
		t.Errorf("handled %d messages, want all 10", n)
	}
}

// TestSQSFIFO: a FIFO batch stops at its first failure and reports it and
// everything after it, unattempted.
func TestSQSFIFO(t *testing.T) {
	h, rec := newTestHandler(t)
	rec.fail = func(_ string, e core.Event) error {
		if string(e.Message.Body) == "poison" {
			return core.Errorf(core.Unavailable, "try later")
		}
		return nil
	}
	ids := batchFailures(t, invokeEvents(t, h, readTestdata(t, "sqs-fifo.json")))
	want := []string{"11111111-0000-4000-8000-000000000002", "11111111-0000-4000-8000-000000000003"}
	if !cmp.Equal(ids, want) {
		t.Errorf("failures: got %q, want %q", ids, want)
	}
	got := rec.got("orders-fifo")
	if len(got) != 2 {
		t.Fatalf("attempted %d messages, want 2", len(got))
	}
	if m := got[0].Message; m.OrderingKey != "customer-7" || m.DedupID != "d-1" || m.Sequence != "18849496460467696128" {
		t.Errorf("FIFO fields: got %+v", m)
	}
}

// TestSNSInSQS: the SNS envelope in an SQS body is unwrapped.
func TestSNSInSQS(t *testing.T) {
	h, rec := newTestHandler(t)
	invokeEvents(t, h, readTestdata(t, "sqs-sns.json"))
	got := rec.got("orders")
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
	e := got[0]
	m := e.Message
	if string(m.Body) != `{"id":"o-1"}` {
		t.Errorf("body: got %q, want the SNS Message", m.Body)
	}
	wantAttrs := map[string]string{"content-type": "application/json", "priority": "9", "tags": `["a","b"]`}
	if d := cmp.Diff(wantAttrs, m.Attributes); d != "" {
		t.Errorf("attributes (-want +got), the queue's priority winning:\n%s", d)
	}
	if m.ContentType != "application/json" || !m.PublishTime.Equal(time.Date(2026, 11, 21, 10, 30, 0, 123e6, time.UTC)) {
		t.Errorf("content type %q, publish time %v", m.ContentType, m.PublishTime)
	}
	if m.ID != "c80e8021-a70a-42c7-a470-796e1186f753" || e.ID() != m.ID {
		t.Errorf("ids: message %q, event %q; want the SQS message id, which batchItemFailures names", m.ID, e.ID())
	}
	ext := e.Extensions()
	if ext[ExtensionSNSTopic] != "arn:aws:sns:us-east-2:123456789012:order-events" ||
		ext[ExtensionSNSMessageID] != "95df01b4-ee98-5cb9-9903-4c221d41eb5e" || e.Subject() != "order placed" {
		t.Errorf("SNS record: extensions %v, subject %q", ext, e.Subject())
	}
}

func TestSQSBodyThatLooksLikeSNSIsKept(t *testing.T) {
	for _, body := range []string{`{"Type":"Notification"}`, `{"Type":"Other","MessageId":"m","TopicArn":"arn:x","Message":"x"}`, `{not json`} {
		if _, ok := snsInSQS(body); ok {
			t.Errorf("%s was taken for an SNS envelope", body)
		}
	}
}

func TestSNS(t *testing.T) {
	h, rec := newTestHandler(t)
	if out := invokeEvents(t, h, readTestdata(t, "sns.json")); string(out) != "null" {
		t.Errorf("reply: got %s", out)
	}
	got := rec.got("order-events")
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
	e := got[0]
	want := &core.Message{
		ID:           "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
		Body:         []byte("Hello from SNS!"),
		Attributes:   map[string]string{"Test": "TestString", "TestBinary": "TestBinary"},
		PublishTime:  time.Date(2019, 1, 2, 12, 45, 7, 0, time.UTC),
		Subscription: "arn:aws:sns:us-east-2:123456789012:order-events:c9135db0-26c4-47ec-8998-413945fb5a96",
	}
	if d := cmp.Diff(want, e.Message); d != "" {
		t.Errorf("message (-want +got):\n%s", d)
	}
	if e.Source() != "arn:aws:sns:us-east-2:123456789012:order-events" || e.NativeType() != "aws:sns" {
		t.Errorf("source %q, native type %q", e.Source(), e.NativeType())
	}
}

func TestEventBridge(t *testing.T) {
	h, rec := newTestHandler(t)
	invokeEvents(t, h, readTestdata(t, "eventbridge-custom.json"))
	got := rec.got("bus")
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1 for the message function with no AWS source", len(got))
	}
	e := got[0]
	m := e.Message
	var body bytes.Buffer
	if err := json.Compact(&body, m.Body); err != nil || body.String() != `{"id":"o-1","total":9007199254740993}` {
		t.Errorf("body: got %s, want the detail with its number intact", m.Body)
	}
	if m.Attributes["detail-type"] != "Order Placed" || m.Attributes["source"] != "com.example.orders" ||
		e.NativeType() != "Order Placed" || e.Source() != "com.example.orders" || e.ID() != "6a7e8feb-b491-4cf7-a9f1-bf3703467718" {
		t.Errorf("got attributes %v, native type %q, source %q, id %q", m.Attributes, e.NativeType(), e.Source(), e.ID())
	}
}

func TestTimers(t *testing.T) {
	h, rec := newTestHandler(t)
	invokeEvents(t, h, readTestdata(t, "eventbridge-scheduled.json"))
	invokeEvents(t, h, readTestdata(t, "scheduler.json"))
	got := rec.got("nightly-report")
	if len(got) != 2 {
		t.Fatalf("got %d timer events, want 2 (the rule and the schedule named after the function)", len(got))
	}
	rule, sched := got[0], got[1]
	// The timer's name is the rule's ARN (resources[0]), and so is its
	// source; the rule's name routes it.
	const ruleARN = "arn:aws:events:us-east-1:123456789012:rule/nightly-report"
	if rule.Timer.Name != ruleARN || !rule.Timer.ScheduledTime.Equal(time.Date(2015, 10, 8, 16, 53, 6, 0, time.UTC)) ||
		!rule.Timer.PastDue || rule.Timer.Attempt != 0 || rule.Source() != ruleARN {
		t.Errorf("rule timer: %+v from %s, want the name and source %s", rule.Timer, rule.Source(), ruleARN)
	}
	// The timer's name is the input's schedule_arn, and so is its source;
	// the input's job routes it.
	const scheduleARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly-report"
	if sched.Timer.Name != scheduleARN || sched.Timer.Attempt != 2 ||
		!sched.Timer.ScheduledTime.Equal(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)) ||
		sched.ID() != "d2a6a0ff-4b8e-4a67-9f4e-4c8e6f4b2a10" || sched.NativeType() != "aws.scheduler" || sched.Source() != scheduleARN {
		t.Errorf("schedule timer: %+v, id %q, from %s, want the name and source %s", sched.Timer, sched.ID(), sched.Source(), scheduleARN)
	}
	if len(rec.got("hourly")) != 0 {
		t.Error("the hourly function got another function's schedule")
	}
}

func TestPastDue(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		t    time.Time
		want bool
	}{{now, false}, {now.Add(-30 * time.Second), false}, {now.Add(-2 * time.Minute), true}, {time.Time{}, false}} {
		if got := pastDue(tt.t); got != tt.want {
			t.Errorf("pastDue(now%+v): got %v", time.Until(tt.t).Round(time.Second), got)
		}
	}
}

func TestAttemptOf(t *testing.T) {
	for raw, want := range map[string]int{``: 0, `null`: 0, `"3"`: 3, `4`: 4} {
		if got, err := attemptOf(json.RawMessage(raw)); err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", raw, got, err, want)
		}
	}
	for _, raw := range []string{`"x"`, `-1`, `1.5`, `"`} {
		if _, err := attemptOf(json.RawMessage(raw)); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
}

func TestDynamoDB(t *testing.T) {
	h, rec := newTestHandler(t)
	if ids := batchFailures(t, invokeEvents(t, h, readTestdata(t, "dynamodb.json"))); len(ids) != 0 {
		t.Errorf("failures: got %q", ids)
	}
	got := rec.got("user-changes")
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3", len(got))
	}
	insert := got[0].Change
	wantNew := `{"active":true,"address":{"city":"Zürich","zip":8001},"avatar":"AAH+",` +
		`"history":["x",1,[],{}],"id":"u1","keys":["AA==","AQ=="],"nick":null,"ratio":-1.5E+3,` +
		`"scores":[1,2.50],"tags":["a","b\"c"],"visits":9007199254740993}`
	if string(insert.New) != wantNew {
		t.Errorf("new image:\n got %s\nwant %s", insert.New, wantNew)
	}
	if insert.Op != core.OpInsert || string(insert.Key) != `{"id":"u1"}` || insert.Old != nil ||
		insert.Source != "arn:aws:dynamodb:us-east-1:123456789012:table/users" || insert.Sequence != "111" ||
		insert.ID != "c4ca4238a0b923820dcc509a6f75849b" || insert.ByTTL {
		t.Errorf("insert: %+v", insert)
	}
	if !got[0].Time().Equal(time.Unix(1479499740, 0)) || got[0].NativeType() != "INSERT" {
		t.Errorf("envelope: time %v, native type %q", got[0].Time(), got[0].NativeType())
	}
	modify := got[1].Change
	if modify.Op != core.OpModify || string(modify.Old) != `{"id":"u1","visits":1}` || string(modify.New) != `{"id":"u1","visits":2}` {
		t.Errorf("modify: %+v", modify)
	}
	remove := got[2].Change
	if remove.Op != core.OpRemove || !remove.ByTTL || remove.New != nil {
		t.Errorf("remove: got %+v, want a TTL removal", remove)
	}
}

// TestDynamoDBPartialFailure: a stream batch stops at its first failure and
// reports it, by sequence number, with everything after it.
func TestDynamoDBPartialFailure(t *testing.T) {
	h, rec := newTestHandler(t)
	rec.fail = func(_ string, e core.Event) error {
		if e.Change.Sequence == "222" {
			return core.Errorf(core.Unavailable, "table busy")
		}
		return nil
	}
	var r events.DynamoDBEventResponse
	if err := json.Unmarshal(invokeEvents(t, h, readTestdata(t, "dynamodb.json")), &r); err != nil {
		t.Fatal(err)
	}
	want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: "222"}, {ItemIdentifier: "333"}}
	if !cmp.Equal(r.BatchItemFailures, want) {
		t.Errorf("failures: got %+v, want %+v", r.BatchItemFailures, want)
	}
	if n := len(rec.got("user-changes")); n != 2 {
		t.Errorf("attempted %d records, want 2", n)
	}
}

func TestEventPanicIsAFailure(t *testing.T) {
	h, rec := newTestHandler(t)
	rec.fail = func(string, core.Event) error { panic("boom") }
	ids := batchFailures(t, invokeEvents(t, h, readTestdata(t, "sqs.json")))
	if len(ids) != 2 {
		t.Errorf("failures: got %q, want both", ids)
	}
	rec.fail = nil
	if ids := batchFailures(t, invokeEvents(t, h, readTestdata(t, "sqs.json"))); len(ids) != 0 {
		t.Errorf("after the panic: failures %q", ids)
	}
}

// TestDeadlineLeavesRoomForTheReply: a handler that overruns is cut off
// before Lambda's deadline, so the partial-failure reply still goes out.
func TestDeadlineLeavesRoomForTheReply(t *testing.T) {
	app := core.NewApp("slow")
	app.On("orders", core.MessageTrigger{Subscription: "ORDERS_QUEUE_URL"}, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	h, err := New([]*core.App{app}, &Options{Env: func(k string) string { return testEnv[k] }, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(defaultReplyMargin + 300*time.Millisecond)
	out, err := h.Invoke(lambdaContext(t, deadline), readTestdata(t, "sqs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if late := time.Since(deadline); late > 0 {
		t.Errorf("replied %v after Lambda's deadline", late)
	}
	if ids := batchFailures(t, out); len(ids) != 2 {
		t.Errorf("failures: got %q, want both (one timed out, one not attempted)", ids)
	}
}

func TestRawEvent(t *testing.T) {
	if _, ok := RawEvent(t.Context()); ok {
		t.Error("RawEvent outside an invocation: ok")
	}
	app := core.NewApp("raw")
	var raw json.RawMessage
	var sqs events.SQSEvent
	app.On("q", core.MessageTrigger{Subscription: "Q_URL"}, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		raw, _ = RawEvent(ctx)
		if !As(ctx, &sqs) {
			t.Error("As failed")
		}
		return nil
	}))
	h, err := New([]*core.App{app}, &Options{Env: func(string) string { return "" }, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	payload := readTestdata(t, "sqs.json")
	invokeEvents(t, h, payload)
	if string(raw) != string(payload) {
		t.Error("RawEvent is not the payload")
	}
	if len(sqs.Records) != 2 || sqs.Records[0].ReceiptHandle == "" {
		t.Errorf("As: got %+v", sqs)
	}
}

// TestSchedulerInputRoundTrip: the input the template configures, once the
// Scheduler has filled it in, is a timer event for its function, named by
// the schedule's ARN. The job routes it: the schedule's own name need not
// be the function's.
func TestSchedulerInputRoundTrip(t *testing.T) {
	h, rec := newTestHandler(t)
	const arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/test-HourlyHourly-1Q2W3E4R5T6Y"
	input := strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", time.Now().UTC().Format(time.RFC3339),
		"<aws.scheduler.schedule-arn>", arn,
		"<aws.scheduler.execution-id>", "exec-1",
		"<aws.scheduler.attempt-number>", "1",
	).Replace(SchedulerInput("hourly"))
	invokeEvents(t, h, []byte(input))
	got := rec.got("hourly")
	if len(got) != 1 || got[0].Timer.Name != arn || got[0].Source() != arn || got[0].Timer.Attempt != 1 ||
		got[0].Timer.PastDue || got[0].ID() != "exec-1" {
		t.Fatalf("got %+v", got)
	}
	if n := len(rec.got("nightly-report")); n != 0 {
		t.Errorf("the nightly-report function got %d events of the hourly function's schedule", n)
	}
}

package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/core"
)

// handleEvents runs the neutral events evs of an event payload through the
// functions that accept them, and answers in the source's form: SQS,
// DynamoDB, Kinesis and Kafka batches with their failed records (a
// stream's first failure of each partition), everything else with an
// error when any event failed.
func (h *Handler) handleEvents(ctx context.Context, p *payload, s shape, evs []core.Event) ([]byte, error) {
	function := p.scheduledFunction(s)
	if h.unit.function != nil && len(evs) > 0 {
		// A payload from another function's source fails as a whole, not
		// record by record: it was delivered to the wrong Lambda.
		if _, err := h.router.route(routedAs(evs[0], function)); err != nil {
			return nil, h.unit.misrouted(err)
		}
	}
	deliver := func(ctx context.Context, e core.Event) error { return h.deliver(ctx, e, routedAs(e, function)) }
	var failures []core.Failure
	if s == shapeKinesis || s == shapeKafka {
		failures = processStream(ctx, core.HandlerFunc(deliver), evs)
	} else {
		failures = core.ProcessBatch(ctx, core.HandlerFunc(deliver), evs, &core.BatchOptions{Ordered: h.ordered(s, evs)})
	}
	h.logFailures(ctx, evs, failures)
	switch s {
	case shapeKinesis:
		return kinesisResponse(evs, failures)
	case shapeKafka:
		return kafkaBatchResponse(evs, failures)
	case shapeSQS:
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, f := range failures {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: f.ID})
		}
		return json.Marshal(resp)
	case shapeDynamoDB:
		resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
		for _, f := range failures {
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: evs[f.Index].Change.Sequence})
		}
		return json.Marshal(resp)
	}
	if len(failures) > 0 {
		first := failures[0]
		return nil, core.Wrap(core.CodeOf(first.Err),
			fmt.Errorf("awslambda: %d of %d events failed; the first, %q: %w", len(failures), len(evs), first.ID, first.Err))
	}
	return []byte("null"), nil
}

// deliver hands e to every function that accepts key, e as the router
// matches it (routedAs), in declaration order, and stops at the first
// failure: the event is redelivered to all of them.
func (h *Handler) deliver(ctx context.Context, e, key core.Event) error {
	fns, err := h.router.route(key)
	if err != nil {
		return h.unit.misrouted(err)
	}
	for _, fn := range fns {
		if err := fn.Handler.HandleEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// ordered reports whether a batch is processed in order, stopping at the
// first failure. A DynamoDB stream always is: Lambda resumes it from the
// lowest failed sequence number, so records after a failure would be handled
// twice. An SQS batch is when it comes from a FIFO queue (whose failed
// message and everything after it must be reported) or its function's
// trigger says so.
func (h *Handler) ordered(s shape, evs []core.Event) bool {
	switch s {
	case shapeDynamoDB:
		return true
	case shapeSQS:
		if strings.HasSuffix(evs[0].Message.Subscription, ".fifo") {
			return true
		}
		fns, _ := h.router.route(evs[0])
		for _, fn := range fns {
			if t, ok := fn.Trigger.(core.MessageTrigger); ok && t.Ordered {
				return true
			}
		}
	}
	return false
}

// logFailures records each failed event, by the table: a permanent failure
// is an error that redelivery will not fix.
func (h *Handler) logFailures(ctx context.Context, evs []core.Event, failures []core.Failure) {
	for _, f := range failures {
		ff := failureFor(f.Err)
		msg := "event failed; Lambda will redeliver it"
		level := slog.LevelWarn
		if !ff.transient {
			msg = "event failed; redelivery will not fix it, and it ends in the dead-letter queue or on-failure destination"
			level = slog.LevelError
		}
		h.log.Log(ctx, level, msg, slog.String("event_id", f.ID), slog.String("event_type", evs[f.Index].NativeType()),
			slog.String("code", core.CodeOf(f.Err).String()), slog.Any("error", f.Err))
	}
}

// events decodes the records of an event payload, one neutral event each.
// A record that cannot be decoded makes the whole payload malformed: a record
// without its id cannot even be reported as failed. An S3 record of an
// event name polyfn does not know is left out and returned in dropped:
// redelivery could not make it known, so it is logged, not failed.
func (p *payload) events(s shape) (evs []core.Event, dropped []error, err error) {
	switch s {
	case shapeEventBridge:
		e, err := p.eventBridgeEvent()
		return []core.Event{e}, nil, err
	case shapeScheduler:
		e, err := p.schedulerEvent()
		return []core.Event{e}, nil, err
	case shapeKafka:
		evs, err := p.kafkaEvents()
		return evs, nil, err
	}
	convert := recordEvent[s]
	evs = make([]core.Event, 0, len(p.Records))
	for i, r := range p.Records {
		e, err := convert(r.raw)
		var unknown errUnknownS3Event
		if errors.As(err, &unknown) {
			dropped = append(dropped, fmt.Errorf("%s record %d: %w", s, i, err))
			continue
		}
		if err != nil {
			return nil, nil, core.Errorf(core.InvalidArgument, "awslambda: %s record %d: %w", s, i, err)
		}
		evs = append(evs, e)
	}
	return evs, dropped, nil
}

// decodeEvents decodes the events of an event payload as Invoke and Decode
// deliver them: without the records dropped (logged as warnings) and
// without the object events of a kind that no object trigger of the
// handler lists (polyfn build subscribes a function to its trigger's kinds
// only, so these come from a notification configured by hand).
func (h *Handler) decodeEvents(ctx context.Context, p *payload, s shape) ([]core.Event, error) {
	evs, dropped, err := p.events(s)
	if err != nil {
		return nil, err
	}
	for _, d := range dropped {
		h.log.WarnContext(ctx, "event dropped: polyfn does not know its kind, and redelivery would not change that", slog.Any("error", d))
	}
	kept := evs[:0]
	for _, e := range evs {
		if e.Object != nil && !h.router.listsKind(e) {
			h.log.InfoContext(ctx, "object event not delivered: no object trigger lists its kind",
				slog.String("kind", string(e.Kind())), slog.String("event_type", e.NativeType()), slog.String("key", e.Object.Key))
			continue
		}
		kept = append(kept, e)
	}
	return kept, nil
}

// recordEvent maps one record of each Records shape to a neutral event.
var recordEvent = map[shape]func(raw []byte) (core.Event, error){
	shapeS3:       s3Event,
	shapeSQS:      sqsEvent,
	shapeSNS:      snsEvent,
	shapeDynamoDB: dynamoDBEvent,
	shapeKinesis:  kinesisEvent,
}

// newEvent returns a neutral event with its envelope set. The type and the
// data always match here, so NewEvent cannot fail.
func newEvent(typ, id, source, native string, t time.Time, data any) core.Event {
	e, _ := core.NewEvent(typ, id, source, data)
	e.SetExtension(core.NativeTypeExtension, native)
	if !t.IsZero() {
		e.SetTime(t.UTC())
	}
	return e
}

// sqsEvent maps an SQS message to a message event.
func sqsEvent(raw []byte) (core.Event, error) {
	var m events.SQSMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return core.Event{}, err
	}
	if m.MessageId == "" {
		return core.Event{}, fmt.Errorf("no messageId")
	}
	msg := &core.Message{
		ID:            m.MessageId,
		Body:          []byte(m.Body),
		Attributes:    sqsAttributes(m.MessageAttributes),
		DeliveryCount: atoi(m.Attributes["ApproximateReceiveCount"]),
		PublishTime:   epochMillis(m.Attributes["SentTimestamp"]),
		OrderingKey:   m.Attributes["MessageGroupId"],
		DedupID:       m.Attributes["MessageDeduplicationId"],
		Sequence:      m.Attributes["SequenceNumber"],
		Subscription:  m.EventSourceARN,
	}
	n, wrapped := snsInSQS(m.Body)
	if wrapped {
		unwrapSNS(msg, n)
	}
	msg.ContentType = contentType(msg.Attributes)
	e := newEvent(core.TypeMessage, m.MessageId, m.EventSourceARN, "aws:sqs", msg.PublishTime, msg)
	if wrapped {
		recordSNS(&e, n)
		recordSNSAttributes(&e, n)
	}
	if th := m.Attributes["AWSTraceHeader"]; th != "" {
		e.SetExtension(core.XRayTraceExtension, th)
	}
	return e, nil
}

// sqsAttributes flattens SQS message attributes; binary values are base64.
func sqsAttributes(attrs map[string]events.SQSMessageAttribute) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]string, len(attrs))
	for k, a := range attrs {
		switch {
		case a.StringValue != nil:
			out[k] = *a.StringValue
		case a.BinaryValue != nil:
			out[k] = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
	}
	return out
}

// snsNotification is an SNS message, as SNS delivers it to Lambda (the Sns
// member of a record) and, without raw message delivery, as the body of an
// SQS message.
type snsNotification struct {
	Type              string                  `json:"Type"`
	MessageID         string                  `json:"MessageId"`
	TopicARN          string                  `json:"TopicArn"`
	Subject           string                  `json:"Subject"`
	Message           *string                 `json:"Message"`
	Timestamp         string                  `json:"Timestamp"`
	MessageAttributes map[string]snsAttribute `json:"MessageAttributes"`
}

// snsAttribute is a message attribute: Type String, String.Array (Value is
// a JSON array), Number or Binary (Value is base64).
type snsAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// snsInSQS recognises the SNS envelope that an SQS queue subscribed to a
// topic receives unless raw message delivery is on.
func snsInSQS(body string) (snsNotification, bool) {
	var n snsNotification
	if !strings.HasPrefix(strings.TrimSpace(body), "{") || json.Unmarshal([]byte(body), &n) != nil {
		return n, false
	}
	return n, n.Type == "Notification" && n.MessageID != "" && strings.HasPrefix(n.TopicARN, "arn:") && n.Message != nil
}

// unwrapSNS makes the SNS message the message: its body is the SNS Message,
// its attributes gain the SNS message attributes (the queue's own win a
// clash), and its publish time is when the topic received it.
func unwrapSNS(msg *core.Message, n snsNotification) {
	msg.Body = []byte(*n.Message)
	if len(n.MessageAttributes) > 0 && msg.Attributes == nil {
		msg.Attributes = make(map[string]string, len(n.MessageAttributes))
	}
	for k, a := range n.MessageAttributes {
		if _, ok := msg.Attributes[k]; !ok {
			msg.Attributes[k] = a.Value
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, n.Timestamp); err == nil {
		msg.PublishTime = t.UTC()
	}
}

// The CloudEvents extensions that record, on a message event, that the
// message came through SNS: core.Message has no field for the topic a
// message came through. ExtensionSNSAttributes is set only on an SQS message
// unwrapped from an SNS notification: the notification's own message
// attributes as the JSON text of an object (name → value), since the
// message's attributes merge them with the queue's.
const (
	ExtensionSNSTopic      = "snstopicarn"
	ExtensionSNSMessageID  = "snsmessageid"
	ExtensionSNSAttributes = "snsattributes"
)

// recordSNS records on e that its message was an SNS notification, and its
// subject.
func recordSNS(e *core.Event, n snsNotification) {
	e.SetExtension(ExtensionSNSTopic, n.TopicARN)
	e.SetExtension(ExtensionSNSMessageID, n.MessageID)
	if n.Subject != "" {
		e.SetSubject(n.Subject)
	}
}

func recordSNSAttributes(e *core.Event, n snsNotification) {
	attrs := make(map[string]string, len(n.MessageAttributes))
	for k, a := range n.MessageAttributes {
		attrs[k] = a.Value
	}
	b, _ := json.Marshal(attrs) // a map of strings always marshals
	e.SetExtension(ExtensionSNSAttributes, string(b))
}

// snsEvent maps an SNS record (a topic's direct delivery) to a message event.
func snsEvent(raw []byte) (core.Event, error) {
	var r struct {
		EventSubscriptionARN string          `json:"EventSubscriptionArn"`
		SNS                  snsNotification `json:"Sns"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return core.Event{}, err
	}
	n := r.SNS
	if n.MessageID == "" || n.Message == nil {
		return core.Event{}, fmt.Errorf("no MessageId or Message")
	}
	msg := &core.Message{ID: n.MessageID, Subscription: r.EventSubscriptionARN}
	unwrapSNS(msg, n)
	msg.ContentType = contentType(msg.Attributes)
	e := newEvent(core.TypeMessage, n.MessageID, n.TopicARN, "aws:sns", msg.PublishTime, msg)
	recordSNS(&e, n)
	return e, nil
}

// contentType reads a content-type attribute, in any case (gocloud's
// publishers set "content-type", others "Content-Type").
func contentType(attrs map[string]string) string {
	for k, v := range attrs {
		if strings.EqualFold(k, "content-type") {
			return v
		}
	}
	return ""
}

// eventBridgeEvent maps an EventBridge event: a scheduled rule's firing to a
// timer event, any other event to a message whose body is the detail.
func (p *payload) eventBridgeEvent() (core.Event, error) {
	if p.ID == "" {
		return core.Event{}, core.Errorf(core.InvalidArgument, "awslambda: EventBridge event without an id")
	}
	t, _ := time.Parse(time.RFC3339, p.Time)
	if p.scheduledRule() {
		// The rule's ARN names the timer and is its source (docs/events.md).
		source, name := "aws.events", ""
		if len(p.Resources) > 0 {
			source, name = p.Resources[0], p.Resources[0]
		}
		timer := &core.Timer{Name: name, ScheduledTime: t.UTC(), PastDue: pastDue(t)}
		return newEvent(core.TypeTimer, p.ID, source, p.DetailType, t, timer), nil
	}
	body := []byte(p.Detail)
	if body == nil {
		body = []byte("null")
	}
	msg := &core.Message{
		ID:          p.ID,
		Body:        body,
		Attributes:  map[string]string{"detail-type": p.DetailType, "source": p.Source},
		PublishTime: t.UTC(),
		ContentType: "application/json",
	}
	return newEvent(core.TypeMessage, p.ID, p.Source, p.DetailType, t, msg), nil
}

// scheduledRule reports whether an EventBridge event is a scheduled rule's
// firing.
func (p *payload) scheduledRule() bool {
	return p.DetailType == "Scheduled Event" && p.Source == "aws.events"
}

// scheduledFunction returns the function that a schedule's payload names,
// which routes its timer event: the Scheduler input's job (the function's
// name, as polyfn build configures it), or a scheduled rule's name (after
// "rule/" in its ARN), which names the function by the routing convention.
// The timer's neutral name is the schedule's or the rule's ARN
// (docs/events.md), which names no function. "" for any other payload.
func (p *payload) scheduledFunction(s shape) string {
	switch {
	case s == shapeScheduler:
		return p.SchedulerJob
	case s == shapeEventBridge && p.scheduledRule() && len(p.Resources) > 0:
		_, name, _ := strings.Cut(p.Resources[0], ":rule/")
		return name
	}
	return ""
}

// routedAs returns e as the router matches it: a timer event as named by
// the function its schedule names (scheduledFunction), when there is one;
// any other event as it is. The function still receives e itself.
func routedAs(e core.Event, function string) core.Event {
	if e.Timer == nil || function == "" {
		return e
	}
	t := *e.Timer
	t.Name = function
	e.Timer = &t
	return e
}

// SchedulerInput returns the input that `polyfn build --cloud aws`
// configures on the EventBridge Scheduler schedule of the named timer
// function: the Scheduler fills in its context attributes, and the adapter
// reads a timer event from the result.
func SchedulerInput(function string) string {
	return `{"job":` + strconv.Quote(function) + `,"scheduled_at":"<aws.scheduler.scheduled-time>",` +
		`"schedule_arn":"<aws.scheduler.schedule-arn>","execution_id":"<aws.scheduler.execution-id>",` +
		`"attempt":"<aws.scheduler.attempt-number>"}`
}

// schedulerEvent maps an EventBridge Scheduler invocation with polyfn's
// input to a timer event, named and sourced by the schedule's ARN
// (docs/events.md); the job routes it (scheduledFunction).
func (p *payload) schedulerEvent() (core.Event, error) {
	t, err := time.Parse(time.RFC3339, p.SchedulerTime)
	if err != nil {
		return core.Event{}, core.Errorf(core.InvalidArgument, "awslambda: schedule input: scheduled_at: %v", err)
	}
	attempt, err := attemptOf(p.SchedulerAttempt)
	if err != nil {
		return core.Event{}, err
	}
	id := p.SchedulerExecution
	if id == "" {
		id = p.SchedulerARN + "@" + p.SchedulerTime
	}
	timer := &core.Timer{Name: p.SchedulerARN, ScheduledTime: t.UTC(), PastDue: pastDue(t), Attempt: attempt}
	return newEvent(core.TypeTimer, id, p.SchedulerARN, "aws.scheduler", t, timer), nil
}

// attemptOf reads the attempt number, a string (as polyfn's input quotes
// the context attribute) or a number; absent is 0, unknown.
func attemptOf(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	} else {
		s = string(raw)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, core.Errorf(core.InvalidArgument, "awslambda: schedule input: attempt %s is not a count", raw)
	}
	return n, nil
}

// pastDueAfter is how late a timer may fire before it is flagged past due.
// EventBridge delivers within seconds; a later firing is a retry (Lambda
// waits a minute or more before one) or a backlog.
const pastDueAfter = time.Minute

func pastDue(scheduled time.Time) bool {
	return !scheduled.IsZero() && time.Since(scheduled) > pastDueAfter
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// epochMillis reads a Unix time in milliseconds, or gives the zero time.
func epochMillis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

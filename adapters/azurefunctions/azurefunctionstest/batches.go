package azurefunctionstest

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// The binding data of triggers with "cardinality": "many". The host
// serialises each array (the trigger's byte[][], the binding data's
// string[], long[], DateTime[], IDictionary[]) with JsonConvert into JSON
// text that it sends as a string: so a batch's bodies are "[\"AAE=\"]",
// its sequence numbers "[42,43]", a DateTime[] "[\"2026-11-21T10:30:00.123\"]"
// (no offset, the fraction as long as needed).

// dotnetDateTime is a DateTime in an array as JsonConvert writes it.
func dotnetDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.9999999") }

// dotnetDateTimeOffset is a DateTimeOffset in an array as JsonConvert writes it.
func dotnetDateTimeOffset(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999") + "+00:00"
}

// array is a binding data array as the host sends it: its JSON text, as a string.
func array(v any) json.RawMessage { return mustJSON(string(mustJSON(v))) }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// bodies is a batch's Data as the host sends a byte[][]: the JSON text of
// an array of base64 strings.
func bodies(bs [][]byte) json.RawMessage {
	enc := make([]string, len(bs))
	for i, b := range bs {
		enc[i] = base64.StdEncoding.EncodeToString(b)
	}
	return array(enc)
}

// ServiceBusBatch is a Service Bus trigger's invocation with "cardinality":
// "many" and "dataType": "binary": the binding data of
// ServiceBusTriggerBindingStrategy for a batch, every entry an array named
// with "Array". The messages' Binary and UserProperties are not read.
func ServiceBusBatch(ms ...ServiceBusMessage) Invocation {
	n := len(ms)
	var (
		bs                                          = make([][]byte, n)
		ids, locks, types, sessions, corr, subj     = make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n)
		to, replyTo, dls, replySessions, pks, txPKs = make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n)
		counts                                      = make([]int, n)
		seqs                                        = make([]int64, n)
		enqUTC, enq, expUTC, exp                    = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		props                                       = make([]map[string]any, n)
	)
	for i, m := range ms {
		bs[i], ids[i], locks[i], counts[i], seqs[i] = m.Body, nullable(m.MessageID), newUUID(), m.DeliveryCount, m.SequenceNumber
		types[i], sessions[i], corr[i], subj[i] = nullable(m.ContentType), nullable(m.SessionID), nullable(m.CorrelationID), nullable(m.Subject)
		to[i], replyTo[i], dls[i], replySessions[i] = nullable(m.To), nullable(m.ReplyTo), nullable(m.DeadLetterSource), nullable(m.ReplyToSessionID)
		pks[i], txPKs[i] = nullable(m.PartitionKey), nullable(m.PartitionKey)
		expires := m.ExpiresAt
		if expires.IsZero() {
			expires = m.EnqueuedTime.Add(14 * 24 * time.Hour)
		}
		enqUTC[i], enq[i] = dotnetDateTime(m.EnqueuedTime), dotnetDateTimeOffset(m.EnqueuedTime)
		expUTC[i], exp[i] = dotnetDateTime(expires), dotnetDateTimeOffset(expires)
		props[i] = m.Properties
		if props[i] == nil {
			props[i] = map[string]any{}
		}
	}
	meta := map[string]json.RawMessage{
		"DeliveryCountArray": array(counts), "DeadLetterSourceArray": array(dls), "LockTokenArray": array(locks),
		"ExpiresAtUtcArray": array(expUTC), "ExpiresAtArray": array(exp),
		"EnqueuedTimeUtcArray": array(enqUTC), "EnqueuedTimeArray": array(enq),
		"MessageIdArray": array(ids), "ContentTypeArray": array(types), "ReplyToArray": array(replyTo),
		"SequenceNumberArray": array(seqs), "ToArray": array(to), "SubjectArray": array(subj), "LabelArray": array(subj),
		"CorrelationIdArray": array(corr), "ApplicationPropertiesArray": array(props), "UserPropertiesArray": array(props),
		"SessionIdArray": array(sessions), "ReplyToSessionIdArray": array(replySessions),
		"PartitionKeyArray": array(pks), "TransactionPartitionKeyArray": array(txPKs),
		"MessageActions": json.RawMessage(`{}`), "SessionActions": json.RawMessage(`{}`), "ReceiveActions": json.RawMessage(`{}`),
		"Client": json.RawMessage(`{"FullyQualifiedNamespace":"polyfn.servicebus.windows.net","IsClosed":false}`),
	}
	return Invocation{Data: map[string]json.RawMessage{"message": bodies(bs)}, Metadata: meta}
}

// EventHubsPartition is the partition an Event Hubs invocation reads: the
// binding data's PartitionContext.
type EventHubsPartition struct {
	Namespace     string // the fully qualified namespace, NAME.servicebus.windows.net
	EventHub      string
	ConsumerGroup string // empty means $Default
	PartitionID   string
}

// EventHubsEvent is one event of a partition.
type EventHubsEvent struct {
	Body           []byte
	SequenceNumber int64
	Offset         int64
	EnqueuedTime   time.Time
	PartitionKey   string
	// MessageID is the producer's AMQP message-id, if it set one.
	MessageID string
	// Properties are the event's application properties.
	Properties map[string]any
}

// EventHubsTrigger is an Event Hubs trigger's invocation of one partition's
// batch with "cardinality": "many" and "dataType": "binary": the binding
// data of EventHubTriggerBindingStrategy (PartitionContext, and an array per
// entry, SystemProperties holding the AMQP annotations and the producer's
// message-id as EventData.SystemProperties does, with the four entries the
// strategy adds).
func EventHubsTrigger(p EventHubsPartition, events ...EventHubsEvent) Invocation {
	n := len(events)
	bs := make([][]byte, n)
	keys, offsets := make([]any, n), make([]string, n)
	seqs := make([]int64, n)
	times := make([]string, n)
	props, sys := make([]map[string]any, n), make([]map[string]any, n)
	for i, e := range events {
		bs[i], keys[i], seqs[i], times[i] = e.Body, nullable(e.PartitionKey), e.SequenceNumber, dotnetDateTime(e.EnqueuedTime)
		offsets[i] = fmtInt(e.Offset)
		props[i] = e.Properties
		if props[i] == nil {
			props[i] = map[string]any{}
		}
		s := map[string]any{
			"x-opt-sequence-number": e.SequenceNumber, "x-opt-offset": e.Offset,
			"x-opt-enqueued-time": dotnetDateTimeOffset(e.EnqueuedTime),
			"SequenceNumber":      e.SequenceNumber, "Offset": e.Offset, "PartitionKey": nullable(e.PartitionKey),
			"EnqueuedTimeUtc": dotnetDateTime(e.EnqueuedTime),
		}
		if e.PartitionKey != "" {
			s["x-opt-partition-key"] = e.PartitionKey
		}
		if e.MessageID != "" {
			s["message-id"] = e.MessageID
		}
		sys[i] = s
	}
	cg := p.ConsumerGroup
	if cg == "" {
		cg = "$Default"
	}
	meta := map[string]json.RawMessage{
		"CheckpointContext": json.RawMessage(`{}`),
		"PartitionContext": mustJSON(map[string]any{"IsCheckpointingAfterInvocation": true, "FullyQualifiedNamespace": p.Namespace,
			"EventHubName": p.EventHub, "ConsumerGroup": cg, "PartitionId": p.PartitionID}),
		"PartitionKeyArray": array(keys), "OffsetArray": array(offsets), "SequenceNumberArray": array(seqs),
		"EnqueuedTimeUtcArray": array(times), "PropertiesArray": array(props), "SystemPropertiesArray": array(sys),
	}
	return Invocation{Data: map[string]json.RawMessage{"records": bodies(bs)}, Metadata: meta}
}

func fmtInt(n int64) string { return string(mustJSON(n)) }

// WithRetry returns inv as the host sends it when the function's retry
// policy reruns it: with Metadata.RetryContext
// (ScriptInvocationContextExtensions.SetRetryContext).
func WithRetry(inv Invocation, retryCount, maxRetryCount int) Invocation {
	meta := make(map[string]json.RawMessage, len(inv.Metadata)+1)
	for k, v := range inv.Metadata {
		meta[k] = v
	}
	meta["RetryContext"] = mustJSON(map[string]any{"RetryCount": retryCount, "MaxRetryCount": maxRetryCount,
		"Exception": map[string]string{"Message": "Exception while executing function"}})
	inv.Metadata = meta
	return inv
}

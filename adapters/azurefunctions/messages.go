package azurefunctions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// The native types of message events: the binding types.
const (
	nativeQueueTrigger      = "queueTrigger"
	nativeServiceBusTrigger = "serviceBusTrigger"
)

// decodeMessage decodes a queue or Service Bus trigger's message, or a
// Service Bus batch; which one it is shows in the binding data. Queue
// Storage (captured form):
//
//	Data:     {"message": "\"{\\\"id\\\":\\\"o-1\\\"}\""}   (text, JSON-encoded twice)
//	Metadata: {"DequeueCount": "1", "Id": "\"a000…\"", "InsertionTime": "2022-06-13T06:00:06+00:00",
//	           "ExpirationTime": …, "NextVisibleTime": …, "PopReceipt": "\"…\"", "sys": {…}}
//
// Service Bus: the body likewise, or base64 with "dataType": "binary"; the
// binding data of the extension's ServiceBusTriggerBindingStrategy, which
// serviceBusFields maps, counters as text and strings JSON-quoted. With
// "cardinality": "many" the body is the JSON text of an array (of base64
// strings with "dataType": "binary") and every entry of the binding data
// an array of the same length under its name and "Array" (MessageIdArray,
// ApplicationPropertiesArray, …).
func decodeMessage(src source, payload json.RawMessage) (decoded, error) {
	if src.meta.has(serviceBusBatchKeys...) {
		return decodeServiceBusBatch(src, payload)
	}
	body, err := payloadBytes(payload)
	if err != nil {
		return decoded{}, fmt.Errorf("message body: %w", err)
	}
	m := &core.Message{Body: body}
	native := nativeQueueTrigger
	switch {
	case src.meta.has("DequeueCount", "PopReceipt"):
		err = fromQueue(m, src.meta)
	case src.meta.has("MessageId", "DeliveryCount", "SequenceNumber", "LockToken"):
		native = nativeServiceBusTrigger
		err = fromServiceBus(m, src.meta)
	}
	if err != nil {
		return decoded{}, err
	}
	if m.ID == "" {
		m.ID = src.invocationID
	}
	e, trace, err := messageEvent(src, m, native)
	if err != nil {
		return decoded{}, err
	}
	return decoded{events: []core.Event{e}, trace: trace}, nil
}

// messageEvent is the event of one decoded message, with the trace its
// Diagnostic-Id application property carries, if any.
func messageEvent(src source, m *core.Message, native string) (core.Event, core.Trace, error) {
	t := m.PublishTime
	if t.IsZero() {
		t = src.now()
	}
	e, err := newEvent(core.TypeMessage, m.ID, src.uri(), m, "", t, native)
	if err != nil {
		return core.Event{}, core.Trace{}, err
	}
	tr, ok := core.ParseTraceparent(m.Attributes["Diagnostic-Id"])
	if ok {
		// The message's own trace, which it keeps whatever invocation delivers it.
		e.SetExtension(core.TraceparentExtension, tr.Raw)
	}
	return e, tr, nil
}

// serviceBusBatchKeys are binding data entries that only a batch
// (cardinality many) has.
var serviceBusBatchKeys = []string{"MessageIdArray", "SequenceNumberArray", "DeliveryCountArray", "LockTokenArray"}

// decodeServiceBusBatch decodes the messages of a Service Bus trigger with
// "cardinality": "many": one event per message, in the order received.
func decodeServiceBusBatch(src source, payload json.RawMessage) (decoded, error) {
	bodies, err := batchBodies(payload)
	if err != nil {
		return decoded{}, fmt.Errorf("message batch: %w", err)
	}
	metas, err := perItem(src.meta, len(bodies))
	if err != nil {
		return decoded{}, fmt.Errorf("message batch: %w", err)
	}
	var d decoded
	for i, body := range bodies {
		m := &core.Message{Body: body}
		if err := fromServiceBus(m, metas[i]); err != nil {
			return decoded{}, fmt.Errorf("message %d of the batch: %w", i, err)
		}
		if m.ID == "" {
			m.ID = src.invocationID + "/" + strconv.Itoa(i)
		}
		e, tr, err := messageEvent(src, m, nativeServiceBusTrigger)
		if err != nil {
			return decoded{}, fmt.Errorf("message %d of the batch: %w", i, err)
		}
		if d.trace.IsZero() {
			d.trace = tr
		}
		d.events = append(d.events, e)
	}
	return d, nil
}

// batchBodies decodes the payload of a trigger with "cardinality": "many":
// the JSON text of an array (the host serialises the trigger's byte[][] or
// string[]), or the array itself. With "dataType": "binary", which polyfn
// build writes, each entry is the body in base64; an entry that is not
// base64 is taken as text, an object or array as its JSON text.
func batchBodies(payload json.RawMessage) ([][]byte, error) {
	v, err := unwrapJSON(payload)
	if err != nil {
		return nil, err
	}
	if jsonKind(v) != '[' {
		return nil, fmt.Errorf("want an array of bodies, got %s", describe(v))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, err
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		if out[i], err = payloadBytes(it); err != nil {
			return nil, fmt.Errorf("body %d: %w", i, err)
		}
	}
	return out, nil
}

// perItem splits the binding data of a batch into one metadata per item:
// entry i of each "<Name>Array" becomes item i's "<Name>", encoded as the
// host encodes a single value (a string JSON-quoted once more), so that the
// decoders of a single item read it. Every array must have n entries.
func perItem(meta metadata, n int) ([]metadata, error) {
	out := make([]metadata, n)
	for i := range out {
		out[i] = metadata{}
	}
	for k, raw := range meta {
		name, ok := cutSuffixFold(k, "Array")
		if !ok || name == "" || isNull(raw) {
			continue
		}
		v, err := unwrapJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if jsonKind(v) != '[' {
			return nil, fmt.Errorf("%s: want an array, got %s", k, describe(v))
		}
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if len(items) != n {
			return nil, fmt.Errorf("%s has %d entries for %d items", k, len(items), n)
		}
		for i, it := range items {
			if jsonKind(it) == '"' {
				it = mustMarshal(string(it))
			}
			out[i][name] = it
		}
	}
	return out, nil
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) < len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}

func mustMarshal(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// fromQueue fills m from a Queue Storage message's binding data.
func fromQueue(m *core.Message, meta metadata) (err error) {
	m.ID = meta.str("Id")
	m.PublishTime = meta.time("InsertionTime")
	m.DeliveryCount, err = meta.count("DequeueCount")
	return err
}

// serviceBusFields are the binding data of a Service Bus message
// (ServiceBusTriggerBindingStrategy in the extension, v5), by lower-case
// name, and where each goes: a field of core.Message, or Broker under its
// name. Every other entry the host sends (a property a later extension
// adds: TimeToLive, ScheduledEnqueueTimeUtc, LockedUntilUtc,
// EnqueuedSequenceNumber, State, DeadLetterReason, …) goes to Broker by its
// name, so that none is lost; the host's .NET objects (the message
// actions, the client, which a process outside the host cannot call) and
// sys are left out. docs/azure.md has the table.
var serviceBusFields = map[string]string{
	"messageid": "ID", "sequencenumber": "Sequence", "deliverycount": "DeliveryCount",
	"enqueuedtimeutc": "PublishTime", "enqueuedtime": "PublishTime",
	"contenttype": "ContentType", "sessionid": "OrderingKey",
	"correlationid": "CorrelationID", "subject": "Subject", "label": "Subject",
	"to": "To", "replyto": "ReplyTo", "expiresatutc": "ExpiresAt", "expiresat": "ExpiresAt",
	"applicationproperties": "Attributes", "userproperties": "Attributes",
	// The host's objects, and the invocation's own metadata.
	"messagereceiver": "", "messagesession": "", "messageactions": "", "sessionactions": "",
	"receiveactions": "", "client": "", "sys": "", "retrycontext": "",
}

// brokerNames are the canonical names of the Broker entries the extension
// sends, whatever the casing of the key.
var brokerNames = map[string]string{
	"locktoken": "LockToken", "deadlettersource": "DeadLetterSource", "partitionkey": "PartitionKey",
	"transactionpartitionkey": "TransactionPartitionKey", "replytosessionid": "ReplyToSessionId",
}

// fromServiceBus fills m from a Service Bus message's binding data.
func fromServiceBus(m *core.Message, meta metadata) (err error) {
	m.ID = meta.str("MessageId")
	m.PublishTime = meta.time("EnqueuedTimeUtc", "EnqueuedTime")
	m.OrderingKey = meta.str("SessionId")
	m.Sequence = meta.str("SequenceNumber")
	m.ContentType = meta.str("ContentType")
	m.CorrelationID = meta.str("CorrelationId")
	m.Subject = meta.str("Subject", "Label")
	m.To = meta.str("To")
	m.ReplyTo = meta.str("ReplyTo")
	// A message that never expires has ExpiresAt DateTimeOffset.MaxValue.
	if t := meta.time("ExpiresAtUtc", "ExpiresAt"); t.Year() < 9999 {
		m.ExpiresAt = t
	}
	if m.DeliveryCount, err = meta.count("DeliveryCount"); err != nil {
		return err
	}
	if m.Attributes, err = attributes(meta); err != nil {
		return err
	}
	m.Broker = brokerProperties(meta)
	return nil
}

// brokerProperties are the binding data entries of a Service Bus message
// that no field of core.Message holds, by their names: strings and numbers
// as text, times in RFC 3339 (UTC), TimeToLive as the host writes a
// TimeSpan ("00:05:00"). Objects and arrays are the host's own objects.
func brokerProperties(meta metadata) map[string]string {
	var out map[string]string
	for k, raw := range meta {
		lk := strings.ToLower(k)
		if _, mapped := serviceBusFields[lk]; mapped || isNull(raw) {
			continue
		}
		if kind := jsonKind(raw); kind == '{' || kind == '[' {
			continue
		}
		s, err := metaString(raw)
		if err != nil {
			continue
		}
		name := k
		if n, ok := brokerNames[lk]; ok {
			name = n
		}
		if isTimeName(lk) {
			if t, err := parseTime(s); err == nil {
				s = t.Format(time.RFC3339Nano)
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = s
	}
	return out
}

// isTimeName reports whether a binding data name is a time's
// (LockedUntilUtc, ScheduledEnqueueTimeUtc, LockedUntil).
func isTimeName(lk string) bool {
	for _, s := range []string{"utc", "time", "until"} {
		if strings.HasSuffix(lk, s) {
			return true
		}
	}
	return false
}

// has reports whether any of keys is present.
func (m metadata) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := m.get(k); ok {
			return true
		}
	}
	return false
}

// count decodes a delivery counter, 0 when absent.
func (m metadata) count(key string) (int, error) {
	v, ok := m.get(key)
	if !ok {
		return 0, nil
	}
	n, err := metaInt(v)
	if err != nil || n < 0 || n > 1<<31-1 {
		return 0, fmt.Errorf("%s: want a delivery count, got %s", key, describe(v))
	}
	return int(n), nil
}

// attributes decodes a Service Bus message's application properties.
func attributes(meta metadata) (map[string]string, error) {
	v, ok := meta.get("ApplicationProperties")
	if !ok {
		if v, ok = meta.get("UserProperties"); !ok {
			return nil, nil
		}
	}
	out, err := properties(v)
	if err != nil {
		return nil, fmt.Errorf("ApplicationProperties: %w", err)
	}
	return out, nil
}

// properties decodes an application properties object (Service Bus
// ApplicationProperties, Event Hubs Properties): string values as they
// are, others (numbers, booleans) as their JSON text, nulls left out.
func properties(v json.RawMessage) (map[string]string, error) {
	props, err := metaObject(v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(props))
	for k, raw := range props {
		switch jsonKind(raw) {
		case 'n':
		case '"':
			if s, err := decodeString(raw); err == nil {
				out[k] = s
			}
		default:
			out[k] = string(raw)
		}
	}
	return out, nil
}

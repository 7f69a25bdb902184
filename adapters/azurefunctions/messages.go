package azurefunctions

import (
	"encoding/json"
	"fmt"

	"github.com/polyfn/polyfn/core"
)

// The native types of message events: the binding types.
const (
	nativeQueueTrigger      = "queueTrigger"
	nativeServiceBusTrigger = "serviceBusTrigger"
)

// decodeMessage decodes a queue or Service Bus trigger's single message;
// which one it is shows in the binding data. Queue Storage (captured form):
//
//	Data:     {"message": "\"{\\\"id\\\":\\\"o-1\\\"}\""}   (text, JSON-encoded twice)
//	Metadata: {"DequeueCount": "1", "Id": "\"a000…\"", "InsertionTime": "2022-06-13T06:00:06+00:00",
//	           "ExpirationTime": …, "NextVisibleTime": …, "PopReceipt": "\"…\"", "sys": {…}}
//
// Service Bus: the body likewise, or base64 with "dataType": "binary";
// Metadata MessageId, DeliveryCount, EnqueuedTimeUtc, SessionId,
// SequenceNumber, ContentType and ApplicationProperties (UserProperties in
// older extensions), counters as text and strings JSON-quoted.
func decodeMessage(src source, payload json.RawMessage) (decoded, error) {
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
	t := m.PublishTime
	if t.IsZero() {
		t = src.now()
	}
	e, err := newEvent(core.TypeMessage, m.ID, src.uri(), m, "", t, native)
	if err != nil {
		return decoded{}, err
	}
	d := decoded{events: []core.Event{e}}
	var ok bool
	if d.trace, ok = core.ParseTraceparent(m.Attributes["Diagnostic-Id"]); ok {
		// The message's own trace, which it keeps whatever invocation delivers it.
		d.events[0].SetExtension(core.TraceparentExtension, d.trace.Raw)
	}
	return d, nil
}

// fromQueue fills m from a Queue Storage message's binding data.
func fromQueue(m *core.Message, meta metadata) (err error) {
	m.ID = meta.str("Id")
	m.PublishTime = meta.time("InsertionTime")
	m.DeliveryCount, err = meta.count("DequeueCount")
	return err
}

// fromServiceBus fills m from a Service Bus message's binding data.
func fromServiceBus(m *core.Message, meta metadata) (err error) {
	m.ID = meta.str("MessageId")
	m.PublishTime = meta.time("EnqueuedTimeUtc", "EnqueuedTime")
	m.OrderingKey = meta.str("SessionId")
	m.Sequence = meta.str("SequenceNumber")
	m.ContentType = meta.str("ContentType")
	if m.DeliveryCount, err = meta.count("DeliveryCount"); err != nil {
		return err
	}
	m.Attributes, err = attributes(meta)
	return err
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

// attributes decodes a Service Bus message's application properties: string
// values as they are, others (numbers, booleans) as their JSON text.
func attributes(meta metadata) (map[string]string, error) {
	v, ok := meta.get("ApplicationProperties")
	if !ok {
		if v, ok = meta.get("UserProperties"); !ok {
			return nil, nil
		}
	}
	props, err := metaObject(v)
	if err != nil {
		return nil, fmt.Errorf("ApplicationProperties: %w", err)
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

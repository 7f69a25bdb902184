package gcpfunctions

import (
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
)

// messagePublishedData is Pub/Sub's MessagePublishedData
// (google/events/cloud/pubsub/v1/data.proto, JSON), which is also the body of
// a push subscription's request. Pub/Sub writes message_id and publish_time
// beside their camel-case names; both spellings are read, and the snake-case
// time is parsed only when the camel-case one is absent.
type messagePublishedData struct {
	Message *struct {
		Data             []byte            `json:"data"` // base64; absent when the message has only attributes
		Attributes       map[string]string `json:"attributes"`
		MessageID        string            `json:"messageId"`
		MessageIDSnake   string            `json:"message_id"`
		PublishTime      time.Time         `json:"publishTime"`
		PublishTimeSnake string            `json:"publish_time"`
		OrderingKey      string            `json:"orderingKey"`
		OrderingKeySnake string            `json:"ordering_key"`
	} `json:"message"`
	Subscription    string `json:"subscription"`
	DeliveryAttempt int    `json:"deliveryAttempt"`
}

// pubsubMessage is a decoded Pub/Sub message.
type pubsubMessage struct {
	id              string
	data            []byte
	attributes      map[string]string
	publishTime     time.Time
	orderingKey     string
	subscription    string
	deliveryAttempt int
}

// decodePubSub decodes the data of a messagePublished event. A message
// without an id takes the event's.
func decodePubSub(ce *event.Event) (pubsubMessage, error) {
	var d messagePublishedData
	if err := decodeJSONData(ce, &d); err != nil {
		return pubsubMessage{}, err
	}
	if d.Message == nil {
		return pubsubMessage{}, core.Errorf(core.InvalidArgument, "gcpfunctions: pub/sub event %q has no message", ce.ID())
	}
	if d.DeliveryAttempt < 0 {
		return pubsubMessage{}, core.Errorf(core.InvalidArgument, "gcpfunctions: pub/sub event %q has a negative delivery attempt", ce.ID())
	}
	m := d.Message
	if m.PublishTime.IsZero() && m.PublishTimeSnake != "" {
		t, err := time.Parse(time.RFC3339Nano, m.PublishTimeSnake)
		if err != nil {
			return pubsubMessage{}, core.Errorf(core.InvalidArgument, "gcpfunctions: pub/sub event %q: publish_time %q is not an RFC 3339 time", ce.ID(), m.PublishTimeSnake)
		}
		m.PublishTime = t
	}
	return pubsubMessage{
		id:              first(m.MessageID, m.MessageIDSnake, ce.ID()),
		data:            m.Data,
		attributes:      m.Attributes,
		publishTime:     m.PublishTime.UTC(),
		orderingKey:     first(m.OrderingKey, m.OrderingKeySnake),
		subscription:    d.Subscription,
		deliveryAttempt: d.DeliveryAttempt,
	}, nil
}

// decodeMessage decodes a messagePublished event for a message trigger.
func decodeMessage(ce *event.Event) (any, error) {
	m, err := decodePubSub(ce)
	if err != nil {
		return nil, err
	}
	return &core.Message{
		ID:            m.id,
		Body:          m.data,
		Attributes:    m.attributes,
		DeliveryCount: m.deliveryAttempt,
		PublishTime:   m.publishTime,
		OrderingKey:   m.orderingKey,
		Subscription:  m.subscription,
		ContentType:   m.attributes["content-type"],
	}, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

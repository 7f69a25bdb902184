package gcpfunctions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// An event function is an HTTP function of the framework, not a
// functions.CloudEvent one, so that its invocation sees the request that
// delivered the event: the framework's CloudEvent path passes the function
// the event alone (funcframework's context values are not set there, and
// the CloudEvents SDK's receive handler pairs a request's context with
// whichever event its channel yields first). receiveEvent reads the
// request itself, in the request's own goroutine: a CloudEvent in binary
// or structured mode, a Pub/Sub push request, or a legacy background
// event.

// maxEventBody bounds a request's body: Cloud Run's request limit. A
// larger one is answered 413.
const maxEventBody = 32 << 20

// receiveStatus is the status of a request receiveEvent refuses.
func receiveStatus(err error) int {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// errNotCloudEvent is the error of a request that is none of the forms
// receiveEvent reads; the entry point answers it 400.
var errNotCloudEvent = errors.New("gcpfunctions: the request is not a CloudEvent (ce-* headers or application/cloudevents+json), " +
	"a Pub/Sub push request ({\"message\":…,\"subscription\":…}) or a legacy background event ({\"context\":…,\"data\":…})")

// receiveEvent reads the event a request delivers. A request is a
// CloudEvent when it has a ce-specversion or ce-id header (binary mode) or
// a CloudEvents media type (structured mode); any other body is read as a
// Pub/Sub push request or a legacy background event, which become the
// CloudEvents Eventarc would send for them.
func receiveEvent(w http.ResponseWriter, req *http.Request) (*event.Event, error) {
	h := req.Header
	req.Body = http.MaxBytesReader(w, req.Body, maxEventBody)
	if h.Get("Ce-Specversion") != "" || h.Get("Ce-Id") != "" || strings.Contains(h.Get("Content-Type"), "cloudevents") {
		msg := cehttp.NewMessageFromHttpRequest(req)
		ce, err := binding.ToEvent(req.Context(), msg)
		_ = msg.Finish(err)
		if err != nil {
			return nil, fmt.Errorf("gcpfunctions: reading the CloudEvent: %w", err)
		}
		if err := ce.Validate(); err != nil {
			return nil, fmt.Errorf("gcpfunctions: the CloudEvent is not valid: %w", err)
		}
		return ce, nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("gcpfunctions: reading the request: %w", err)
	}
	return fromJSON(body, req.URL.Path)
}

// envelope is the JSON body of a request that is not a CloudEvent: a Pub/Sub
// push request (message, subscription and, with a dead-letter policy,
// deliveryAttempt; https://cloud.google.com/pubsub/docs/push), or a legacy
// background event, whose metadata is its context or, in the older form,
// at the top level beside its data
// (https://cloud.google.com/functions/docs/writing/background).
type envelope struct {
	Message      *pushMessage     `json:"message"`
	Subscription string           `json:"subscription"`
	Context      *legacyContext   `json:"context"`
	Data         *json.RawMessage `json:"data"`
	legacyContext
}

// pushMessage is the part of a push request's PubsubMessage that names
// the event.
type pushMessage struct {
	MessageID        string `json:"messageId"`
	MessageIDSnake   string `json:"message_id"`
	PublishTime      string `json:"publishTime"`
	PublishTimeSnake string `json:"publish_time"`
}

// legacyContext is a legacy background event's metadata.
type legacyContext struct {
	EventID   string          `json:"eventId"`
	Timestamp string          `json:"timestamp"`
	EventType string          `json:"eventType"`
	Resource  json.RawMessage `json:"resource"`
}

// fromJSON makes the CloudEvent of a push request or a legacy background
// event; path is the request's, where a push endpoint may name its topic.
func fromJSON(body []byte, path string) (*event.Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotCloudEvent, err)
	}
	switch {
	case env.Context != nil && env.Data != nil:
		return fromLegacy(*env.Context, *env.Data)
	case env.Message != nil:
		return fromPush(body, env, path)
	case env.EventType != "" && env.Data != nil:
		return fromLegacy(env.legacyContext, *env.Data)
	}
	return nil, errNotCloudEvent
}

// topicInPath finds a topic's name in a push endpoint's path, as the
// framework does for the push endpoints it documents
// (…/projects/PROJECT/topics/TOPIC).
var topicInPath = regexp.MustCompile(`projects/[^/?]+/topics/[^/?]+`)

// fromPush makes the messagePublished CloudEvent of a Pub/Sub push request.
// Its data is the request's body as sent: a push request is a
// MessagePublishedData with the delivery attempt beside the subscription,
// and the decoder reads every field. The event's id is the message's id and
// its time the publish time; its source names the topic when the
// endpoint's path does, else the subscription, since a push request does not
// name its topic.
func fromPush(body []byte, env envelope, path string) (*event.Event, error) {
	m := env.Message
	id := first(m.MessageID, m.MessageIDSnake)
	if id == "" {
		return nil, errors.New("gcpfunctions: the Pub/Sub push request's message has no messageId")
	}
	resource := topicInPath.FindString(path)
	if resource == "" {
		resource = env.Subscription
	}
	if resource == "" {
		return nil, fmt.Errorf("gcpfunctions: the Pub/Sub push request of message %q names no subscription", id)
	}
	ce := event.New(event.CloudEventsVersionV1)
	ce.SetID(id)
	ce.SetType(typeMessagePublished)
	ce.SetSource("//pubsub.googleapis.com/" + resource)
	if t := first(m.PublishTime, m.PublishTimeSnake); t != "" {
		published, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return nil, fmt.Errorf("gcpfunctions: the Pub/Sub push request of message %q: publishTime %q is not an RFC 3339 time", id, t)
		}
		ce.SetTime(published)
	}
	if err := ce.SetData(event.ApplicationJSON, body); err != nil {
		return nil, err
	}
	return &ce, nil
}

// legacyType is how a legacy event type becomes a CloudEvent: its type, the
// service of its source, and the pattern that splits the resource into the
// source's resource and the subject.
type legacyType struct {
	ceType, service string
	split           *regexp.Regexp
}

var (
	storageResource   = regexp.MustCompile(`^(projects/_/buckets/[^/]+)/(objects/.+)$`)
	firestoreResource = regexp.MustCompile(`^(projects/[^/]+/databases/[^/]+)/(documents/.+)$`)
)

// legacyTypes are the legacy event types of the services polyfn maps, with
// their CloudEvents types (the table in
// https://cloud.google.com/functions/docs/migrating/cloudevents-format).
// Other legacy events (Firebase's) are refused: Cloud Run functions never
// send them.
var legacyTypes = map[string]legacyType{
	"google.pubsub.topic.publish":                          {typeMessagePublished, "pubsub.googleapis.com", nil},
	"providers/cloud.pubsub/eventTypes/topic.publish":      {typeMessagePublished, "pubsub.googleapis.com", nil},
	"google.storage.object.finalize":                       {typeObjectFinalized, "storage.googleapis.com", storageResource},
	"google.storage.object.delete":                         {typeObjectDeleted, "storage.googleapis.com", storageResource},
	"google.storage.object.archive":                        {typeObjectArchived, "storage.googleapis.com", storageResource},
	"google.storage.object.metadataUpdate":                 {typeObjectMetadataUpdated, "storage.googleapis.com", storageResource},
	"providers/cloud.storage/eventTypes/object.change":     {typeObjectFinalized, "storage.googleapis.com", storageResource},
	"providers/cloud.firestore/eventTypes/document.write":  {typeDocumentWritten, "firestore.googleapis.com", firestoreResource},
	"providers/cloud.firestore/eventTypes/document.create": {typeDocumentCreated, "firestore.googleapis.com", firestoreResource},
	"providers/cloud.firestore/eventTypes/document.update": {typeDocumentUpdated, "firestore.googleapis.com", firestoreResource},
	"providers/cloud.firestore/eventTypes/document.delete": {typeDocumentDeleted, "firestore.googleapis.com", firestoreResource},
}

// fromLegacy makes the CloudEvent of a legacy background event: the id is
// its eventId, the time its timestamp, the source the service and the
// resource's bucket, topic or database, the subject the object or document.
// A Pub/Sub message's data is wrapped as MessagePublishedData, with the
// event's id and time as the message's id and publish time.
func fromLegacy(c legacyContext, data json.RawMessage) (*event.Event, error) {
	lt, ok := legacyTypes[c.EventType]
	if !ok {
		return nil, fmt.Errorf("gcpfunctions: legacy event %q: its type %q is not one polyfn maps", c.EventID, c.EventType)
	}
	if c.EventID == "" {
		return nil, fmt.Errorf("gcpfunctions: legacy %s event has no eventId", c.EventType)
	}
	resource, err := legacyResource(c.Resource)
	if err != nil {
		return nil, fmt.Errorf("gcpfunctions: legacy event %q: %w", c.EventID, err)
	}
	ce := event.New(event.CloudEventsVersionV1)
	ce.SetID(c.EventID)
	ce.SetType(lt.ceType)
	var published time.Time
	if c.Timestamp != "" {
		if published, err = time.Parse(time.RFC3339Nano, c.Timestamp); err != nil {
			return nil, fmt.Errorf("gcpfunctions: legacy event %q: timestamp %q is not an RFC 3339 time", c.EventID, c.Timestamp)
		}
		ce.SetTime(published)
	}
	if lt.split != nil {
		m := lt.split.FindStringSubmatch(resource)
		if m == nil {
			return nil, fmt.Errorf("gcpfunctions: legacy event %q: resource %q is not a %s resource", c.EventID, resource, lt.service)
		}
		resource = m[1]
		ce.SetSubject(m[2])
	}
	ce.SetSource("//" + lt.service + "/" + resource)
	if lt.ceType == typeMessagePublished {
		if data, err = legacyMessage(data, c.EventID, published); err != nil {
			return nil, fmt.Errorf("gcpfunctions: legacy event %q: %w", c.EventID, err)
		}
	}
	if err := ce.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		return nil, err
	}
	return &ce, nil
}

// legacyResource is the name of a legacy event's resource: a string, or an
// object with its name.
func legacyResource(raw json.RawMessage) (string, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		return name, nil
	}
	var r struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.Name == "" {
		return "", errors.New("its resource names nothing")
	}
	return r.Name, nil
}

// legacyMessage wraps a legacy Pub/Sub event's PubsubMessage as
// MessagePublishedData, with the event's id and time.
func legacyMessage(data json.RawMessage, id string, published time.Time) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, errors.New("its data is not a Pub/Sub message")
	}
	m["messageId"], _ = json.Marshal(id)
	if !published.IsZero() {
		m["publishTime"], _ = json.Marshal(published)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"message": m}); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

package core

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// The CloudEvents types of the neutral events. Adapters translate each
// cloud's native event type into one of these; the native type is kept in the
// NativeTypeExtension.
const (
	TypeObjectCreated     = "dev.polyfn.object.created"
	TypeObjectDeleted     = "dev.polyfn.object.deleted"
	TypeObjectTiered      = "dev.polyfn.object.tiered"
	TypeObjectRestored    = "dev.polyfn.object.restored"
	TypeObjectUpdated     = "dev.polyfn.object.updated"
	TypeObjectReplication = "dev.polyfn.object.replication"
	TypeMessage           = "dev.polyfn.message.received"
	TypeChange            = "dev.polyfn.change.written"
	TypeTimer             = "dev.polyfn.timer.fired"
	TypeRecord            = "dev.polyfn.stream.record"
)

// NativeTypeExtension is the CloudEvents extension attribute holding the
// cloud's own name for the event ("ObjectCreated:Put",
// "google.cloud.storage.object.v1.finalized", "Microsoft.Storage.BlobCreated").
const NativeTypeExtension = "nativetype"

// Kind is the kind of a neutral event, derived from its CloudEvents type.
type Kind string

// The kinds. KindCustom is any other CloudEvent (an EventBridge custom event,
// a CloudEvent of a type polyfn does not model): its data is left as received.
//
// The object kinds past creation and removal are the lifecycle notions that
// the clouds share (docs/events.md has one table per cloud):
//   - KindObjectTiered: the object moved to another storage class or access
//     tier (S3 LifecycleTransition and IntelligentTiering, Azure
//     BlobTierChanged); Object.StorageClass is the new class.
//   - KindObjectRestored: a copy of an archived object is being restored,
//     has been restored, or the restored copy expired (S3 ObjectRestore:*,
//     Azure's rehydration); Object.Restore says which.
//   - KindObjectUpdated: the object's metadata, tags or access control
//     changed and its content did not (S3 ObjectTagging:* and ObjectAcl:Put,
//     Cloud Storage metadataUpdated).
//   - KindObjectReplication: a replication rule reports on the object (S3
//     Replication:*); Object.Replication says what.
//
// A removal by lifecycle expiry is a KindObjectDeleted with Object.Expired.
const (
	KindObjectCreated     Kind = "object_created"
	KindObjectDeleted     Kind = "object_deleted"
	KindObjectTiered      Kind = "object_tiered"
	KindObjectRestored    Kind = "object_restored"
	KindObjectUpdated     Kind = "object_updated"
	KindObjectReplication Kind = "object_replication"
	KindMessage           Kind = "message"
	KindChange            Kind = "change"
	KindTimer             Kind = "timer"
	KindRecord            Kind = "record"
	KindCustom            Kind = "custom"
)

var kindOfType = map[string]Kind{
	TypeObjectCreated:     KindObjectCreated,
	TypeObjectDeleted:     KindObjectDeleted,
	TypeObjectTiered:      KindObjectTiered,
	TypeObjectRestored:    KindObjectRestored,
	TypeObjectUpdated:     KindObjectUpdated,
	TypeObjectReplication: KindObjectReplication,
	TypeMessage:           KindMessage,
	TypeChange:            KindChange,
	TypeTimer:             KindTimer,
	TypeRecord:            KindRecord,
}

// ObjectKinds are the kinds of object event, in the order docs/events.md
// lists them.
var ObjectKinds = []Kind{
	KindObjectCreated, KindObjectDeleted, KindObjectTiered,
	KindObjectRestored, KindObjectUpdated, KindObjectReplication,
}

// TypeOf returns the CloudEvents type of the neutral kind k, or "" for
// KindCustom and unknown kinds.
func TypeOf(k Kind) string {
	for t, kk := range kindOfType {
		if kk == k {
			return t
		}
	}
	return ""
}

// IsObject reports whether k is a kind of object event.
func (k Kind) IsObject() bool { return slices.Contains(ObjectKinds, k) }

// Object is the data of an object-storage event: an object was created (or
// overwritten) or deleted in a bucket, or one of the lifecycle events of the
// object kinds happened to it.
type Object struct {
	// Bucket is the bucket (S3, Cloud Storage) or container (Azure) name.
	Bucket string `json:"bucket"`
	// Key is the object's key, decoded: "red flower.jpg", never "red+flower.jpg".
	Key string `json:"key"`
	// Size is the object's size in bytes, when the platform sends it.
	Size int64 `json:"size"`
	// ContentType is the object's media type, when the platform sends it.
	ContentType string `json:"content_type,omitempty"`
	// ETag is the object's entity tag as the platform gives it.
	ETag string `json:"etag,omitempty"`
	// Version is the object's version or generation, when versioned.
	Version string `json:"version,omitempty"`
	// Account is the storage account (Azure) or project, when the platform names one.
	Account string `json:"account,omitempty"`
	// Content is the object's content when the platform delivers it with the
	// event (Azure's blob trigger does); nil otherwise.
	Content []byte `json:"content_base64,omitempty"`
	// EventName is the platform's own name for what happened ("ObjectCreated:Put").
	EventName string `json:"event,omitempty"`
	// StorageClass is the object's storage class or access tier as the
	// platform names it ("GLACIER", "COLDLINE", "Archive"), when the event
	// says: for KindObjectTiered, the class it moved to.
	StorageClass string `json:"storage_class,omitempty"`
	// PreviousStorageClass is the class it moved from, when the platform
	// says (Azure's previousTier).
	PreviousStorageClass string `json:"previous_storage_class,omitempty"`
	// Expired is true when a lifecycle rule removed the object (S3
	// LifecycleExpiration:*); the event is then a KindObjectDeleted.
	Expired bool `json:"expired,omitempty"`
	// Restore describes a KindObjectRestored event.
	Restore *Restore `json:"restore,omitempty"`
	// Replication describes a KindObjectReplication event.
	Replication *Replication `json:"replication,omitempty"`
}

// RestorePhase is the phase of an archived object's restore.
type RestorePhase string

// The phases.
const (
	// RestoreStarted: a restore was requested (S3 ObjectRestore:Post, an
	// Azure rehydration's start).
	RestoreStarted RestorePhase = "started"
	// RestoreCompleted: the restored copy is readable (S3
	// ObjectRestore:Completed, an Azure rehydration's end).
	RestoreCompleted RestorePhase = "completed"
	// RestoreExpired: the temporary restored copy was removed (S3
	// ObjectRestore:Delete); the archived object remains.
	RestoreExpired RestorePhase = "expired"
)

// Restore describes the restore of an archived object.
type Restore struct {
	Phase RestorePhase `json:"phase"`
	// ExpiresAt is when a temporary restored copy will be removed, when the
	// platform says (S3's lifecycleRestorationExpiryTime).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// StorageClass is the class the object is restored from, when the
	// platform says.
	StorageClass string `json:"storage_class,omitempty"`
}

// Replication describes what a replication rule reports on an object.
type Replication struct {
	// Status is the platform's name of the report ("OperationFailedReplication").
	Status string `json:"status"`
	// Rule is the replication rule's id.
	Rule string `json:"rule,omitempty"`
	// Destination is the destination bucket, as the platform names it.
	Destination string `json:"destination,omitempty"`
	// FailureReason is why replication failed, when it did.
	FailureReason string `json:"failure_reason,omitempty"`
}

// Message is the data of a queue or pub/sub message event. A batch of
// messages is delivered as one event per message.
type Message struct {
	// ID is the message id given by the queue or topic.
	ID string `json:"id"`
	// Body is the message payload, exactly as published.
	Body []byte `json:"body_base64"`
	// Attributes are the message's attributes (SQS message attributes,
	// Pub/Sub attributes, Service Bus application properties); binary
	// attribute values are base64-encoded.
	Attributes map[string]string `json:"attributes,omitempty"`
	// DeliveryCount is how many times the message has been delivered,
	// including this time; 0 when the platform does not say.
	DeliveryCount int `json:"delivery_count,omitempty"`
	// PublishTime is when the message was published or enqueued.
	PublishTime time.Time `json:"publish_time,omitzero"`
	// OrderingKey is the Pub/Sub ordering key, SQS FIFO message group id or
	// Service Bus session id: messages with one key are delivered in order.
	OrderingKey string `json:"ordering_key,omitempty"`
	// DedupID is the producer's deduplication id (SQS FIFO), if any.
	DedupID string `json:"dedup_id,omitempty"`
	// Sequence is the broker's sequence number, if any.
	Sequence string `json:"sequence,omitempty"`
	// Subscription names the subscription or queue the message came through.
	Subscription string `json:"subscription,omitempty"`
	// ContentType is the body's media type, when the platform carries one.
	ContentType string `json:"content_type,omitempty"`
	// CorrelationID, Subject (Service Bus's Label), ReplyTo and To are the
	// broker's routing properties, when the platform carries them (Service
	// Bus; an Event Grid event's subject).
	CorrelationID string `json:"correlation_id,omitempty"`
	Subject       string `json:"subject,omitempty"`
	ReplyTo       string `json:"reply_to,omitempty"`
	To            string `json:"to,omitempty"`
	// ExpiresAt is when the broker drops the message unread, when it says.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Broker holds the platform's other broker properties by their
	// platform names (Service Bus "LockedUntilUtc", "TimeToLive", …), so
	// that none is lost; docs/events.md lists them per cloud.
	Broker map[string]string `json:"broker,omitempty"`
}

// Op is the operation of a database change.
type Op string

// The operations. OpWrite is used where the platform does not say whether a
// document was inserted or modified (Azure Cosmos DB's change feed; Firestore
// "written" events that carry both images are reported as insert, modify or
// remove).
const (
	OpInsert Op = "insert"
	OpModify Op = "modify"
	OpRemove Op = "remove"
	OpWrite  Op = "write"
)

// Change is the data of a database change event: one document or row changed.
// Documents are plain JSON: typed wire encodings (DynamoDB AttributeValues,
// Firestore Values) are converted by the adapter.
type Change struct {
	// Source names the table, collection or container, in the platform's form.
	Source string `json:"source,omitempty"`
	// Op is what happened to the document.
	Op Op `json:"op"`
	// ID is the change's own id, when the platform gives one.
	ID string `json:"id,omitempty"`
	// Sequence orders changes of one key (DynamoDB's SequenceNumber).
	Sequence string `json:"sequence,omitempty"`
	// Document is the document's path or name (Firestore), if any.
	Document string `json:"document,omitempty"`
	// Key is the document's key as plain JSON, when the platform has one.
	Key json.RawMessage `json:"key,omitempty"`
	// New is the document after the change, or nil.
	New json.RawMessage `json:"new,omitempty"`
	// Old is the document before the change, or nil.
	Old json.RawMessage `json:"old,omitempty"`
	// UpdateMask lists the changed fields, when the platform sends them.
	UpdateMask []string `json:"update_mask,omitempty"`
	// ByTTL is true when the document was removed by time-to-live expiry.
	ByTTL bool `json:"by_ttl,omitempty"`
}

// Timer is the data of a schedule firing.
type Timer struct {
	// Name names the schedule (the rule, job or function it belongs to).
	Name string `json:"name"`
	// ScheduledTime is when the schedule was due.
	ScheduledTime time.Time `json:"scheduled_time"`
	// PastDue is true when the timer fired later than it was due by more than
	// the platform's tolerance (a missed or late run).
	PastDue bool `json:"past_due"`
	// Attempt counts retries of this firing, from 1, when the platform says.
	Attempt int `json:"attempt,omitempty"`
	// Payload is a payload configured on the schedule, if any.
	Payload []byte `json:"payload_base64,omitempty"`
}

// Event is the one neutral event every event function receives: a
// CloudEvents 1.0 envelope (ID, Source, Type, Subject, Time and extensions,
// through the embedded event.Event) with the typed data of its kind.
//
// Exactly one of Object, Message, Change, Timer and Record is set, matching
// Kind(). A KindCustom event has none set; its data is the envelope's, read
// with Data() or DataAs().
type Event struct {
	event.Event

	Object  *Object
	Message *Message
	Change  *Change
	Timer   *Timer
	Record  *Record
}

// NewEvent returns an event with a CloudEvents 1.0 envelope of the given
// type, id and source, and the data of its kind set to data (which must be a
// *Object, *Message, *Change, *Timer or *Record matching typ, or nil for a
// custom type).
func NewEvent(typ, id, source string, data any) (Event, error) {
	e := Event{Event: event.New(event.CloudEventsVersionV1)}
	e.SetType(typ)
	e.SetID(id)
	e.SetSource(source)
	if err := e.setData(data); err != nil {
		return Event{}, err
	}
	return e, nil
}

func (e *Event) setData(data any) error {
	want := e.Kind()
	var got Kind
	switch d := data.(type) {
	case nil:
		got = KindCustom
	case *Object:
		e.Object = d
		got = want
		if !want.IsObject() {
			got = KindObjectCreated
		}
	case *Message:
		e.Message, got = d, KindMessage
	case *Change:
		e.Change, got = d, KindChange
	case *Timer:
		e.Timer, got = d, KindTimer
	case *Record:
		e.Record, got = d, KindRecord
	default:
		return Errorf(InvalidArgument, "core: event data of type %T is not a neutral kind", data)
	}
	if got != want {
		return Errorf(InvalidArgument, "core: event type %q does not carry %s data", e.Type(), got)
	}
	return nil
}

// Kind returns the event's kind, from its type.
func (e Event) Kind() Kind {
	if k, ok := kindOfType[e.Type()]; ok {
		return k
	}
	return KindCustom
}

// NativeType returns the platform's own name for the event, or "".
func (e Event) NativeType() string {
	v, _ := e.Extensions()[NativeTypeExtension].(string)
	return v
}

// typedData returns the typed data, or nil for a custom event.
func (e Event) typedData() any {
	switch {
	case e.Object != nil:
		return e.Object
	case e.Message != nil:
		return e.Message
	case e.Change != nil:
		return e.Change
	case e.Timer != nil:
		return e.Timer
	case e.Record != nil:
		return e.Record
	}
	return nil
}

// MarshalJSON encodes the event in CloudEvents structured-mode JSON, with the
// typed data as the "data" member (datacontenttype application/json).
func (e Event) MarshalJSON() ([]byte, error) {
	d := e.typedData()
	if d == nil {
		return e.Event.MarshalJSON()
	}
	env := e.Event.Clone()
	if err := env.SetData(event.ApplicationJSON, d); err != nil {
		return nil, fmt.Errorf("core: encoding %s data: %w", e.Kind(), err)
	}
	return env.MarshalJSON()
}

// UnmarshalJSON decodes CloudEvents structured-mode JSON. The data of a
// neutral type is decoded into its typed field; any other data is kept in the
// envelope.
func (e *Event) UnmarshalJSON(b []byte) error {
	var env event.Event
	if err := env.UnmarshalJSON(b); err != nil {
		return Errorf(InvalidArgument, "core: decoding event: %w", err)
	}
	if err := env.Validate(); err != nil {
		return Errorf(InvalidArgument, "core: invalid event: %w", err)
	}
	*e = Event{Event: env}
	var d any
	switch k := e.Kind(); {
	case k.IsObject():
		d = new(Object)
	case k == KindMessage:
		d = new(Message)
	case k == KindChange:
		d = new(Change)
	case k == KindTimer:
		d = new(Timer)
	case k == KindRecord:
		d = new(Record)
	default:
		return nil
	}
	if len(env.Data()) == 0 {
		return Errorf(InvalidArgument, "core: %s event %q has no data", e.Kind(), e.ID())
	}
	if err := json.Unmarshal(env.Data(), d); err != nil {
		return Errorf(InvalidArgument, "core: decoding %s data of event %q: %w", e.Kind(), e.ID(), err)
	}
	_ = e.setData(d) // the kind was chosen from the type, so they match
	e.Event.DataEncoded = nil
	e.Event.DataBase64 = false
	return nil
}

// ParseEvent decodes one event in CloudEvents structured-mode JSON. Every
// error it returns, syntax errors included, has the code InvalidArgument.
func ParseEvent(b []byte) (Event, error) {
	var e Event
	if err := e.UnmarshalJSON(b); err != nil {
		return Event{}, err
	}
	return e, nil
}

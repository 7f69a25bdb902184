package gcpfunctions

import (
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
)

// The CloudEvents types of Google's events that polyfn models.
const (
	typeObjectFinalized       = "google.cloud.storage.object.v1.finalized"
	typeObjectDeleted         = "google.cloud.storage.object.v1.deleted"
	typeObjectArchived        = "google.cloud.storage.object.v1.archived"
	typeObjectMetadataUpdated = "google.cloud.storage.object.v1.metadataUpdated"
	typeMessagePublished      = "google.cloud.pubsub.topic.v1.messagePublished"
	typeDocumentCreated       = "google.cloud.firestore.document.v1.created"
	typeDocumentUpdated       = "google.cloud.firestore.document.v1.updated"
	typeDocumentDeleted       = "google.cloud.firestore.document.v1.deleted"
	typeDocumentWritten       = "google.cloud.firestore.document.v1.written"
	withAuthContext           = ".withAuthContext"
)

// mapping is how one native event type becomes a neutral event: the neutral
// CloudEvents type and the decoder of the native data.
type mapping struct {
	neutralType string
	decode      func(*event.Event) (any, error)
}

// mappings is the one table from a Google CloudEvent type to the neutral
// event. Every decoder returns InvalidArgument errors for malformed data.
// Events of any other type reach the handler as custom events, as received.
var mappings = map[string]mapping{
	typeObjectFinalized: {core.TypeObjectCreated, decodeObject},
	typeObjectDeleted:   {core.TypeObjectDeleted, decodeObject},
	// A live version became noncurrent in a versioned bucket: deleted, or
	// replaced by a new generation (whose finalized event comes too).
	// Cloud Storage sends no deleted event for it, so it is the removal
	// of the object a reader sees; Object.EventName tells it apart.
	typeObjectArchived:                    {core.TypeObjectDeleted, decodeObject},
	typeObjectMetadataUpdated:             {core.TypeObjectUpdated, decodeObject},
	typeMessagePublished:                  {core.TypeMessage, decodeMessage},
	typeDocumentCreated:                   {core.TypeChange, decodeChange(core.OpInsert)},
	typeDocumentUpdated:                   {core.TypeChange, decodeChange(core.OpModify)},
	typeDocumentDeleted:                   {core.TypeChange, decodeChange(core.OpRemove)},
	typeDocumentWritten:                   {core.TypeChange, decodeChange("")},
	typeDocumentCreated + withAuthContext: {core.TypeChange, decodeChange(core.OpInsert)},
	typeDocumentUpdated + withAuthContext: {core.TypeChange, decodeChange(core.OpModify)},
	typeDocumentDeleted + withAuthContext: {core.TypeChange, decodeChange(core.OpRemove)},
	typeDocumentWritten + withAuthContext: {core.TypeChange, decodeChange("")},
}

// mappingFor returns the mapping of native type for a function with trigger
// t: a timer function reads a Pub/Sub message as a Cloud Scheduler firing.
func mappingFor(nativeType string, t core.Trigger, function string) (mapping, bool) {
	if _, timer := t.(core.TimerTrigger); timer && nativeType == typeMessagePublished {
		return mapping{core.TypeTimer, timerFromPubSub(function)}, true
	}
	m, ok := mappings[nativeType]
	return m, ok
}

// toNeutral converts a Google CloudEvent into the neutral event for a
// function with trigger t. The envelope keeps the id, source, subject (an
// object event's is its key), time and extensions (Firestore's database and document, Eventarc's
// traceparent); the native type goes to the nativetype extension.
func toNeutral(ce *event.Event, t core.Trigger, function string) (core.Event, error) {
	m, ok := mappingFor(ce.Type(), t, function)
	if !ok {
		e := core.Event{Event: ce.Clone()}
		e.SetExtension(core.NativeTypeExtension, ce.Type())
		return e, nil
	}
	data, err := m.decode(ce)
	if err != nil {
		return core.Event{}, err
	}
	e, err := core.NewEvent(m.neutralType, ce.ID(), ce.Source(), data)
	if err != nil {
		return core.Event{}, err
	}
	e.SetSubject(ce.Subject())
	if e.Object != nil {
		// As on every platform, an object event's subject is its key.
		// Google's subject is objects/<name>, and the CloudEvents HTTP
		// binding leaves it percent-encoded in the ce-subject header.
		e.SetSubject(e.Object.Key)
	}
	e.SetTime(ce.Time())
	for name, v := range ce.Extensions() {
		e.SetExtension(name, v)
	}
	e.SetExtension(core.NativeTypeExtension, ce.Type())
	return e, nil
}

// filtered reports whether the trigger declines the event: Eventarc filters
// Cloud Storage events by bucket and type only, so an object trigger's
// prefix, suffix and kinds are applied here.
func filtered(t core.Trigger, e core.Event) bool {
	ot, ok := t.(core.ObjectTrigger)
	return ok && e.Object != nil && !ot.Matches(e.Kind(), e.Object.Key)
}

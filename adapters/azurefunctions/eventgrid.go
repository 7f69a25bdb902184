package azurefunctions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// Event Grid delivers to a webhook: an HTTPS endpoint that proves, once,
// that it wants the events (the validation handshake), then takes POSTs of
// one or more events (https://learn.microsoft.com/azure/event-grid/webhook-event-delivery).
// An object or message function's endpoint is EventGridPath(function)
// under the route prefix; polyfn build writes an httpTrigger function.json
// for it and declares the subscription (docs/azure.md, "Event Grid
// delivery").

// EventGridRoute begins the path of every event function's Event Grid
// endpoint, under the route prefix.
const EventGridRoute = "/_polyfn/eventgrid/"

// EventGridPath is the path of function fn's Event Grid endpoint, under
// the route prefix: /_polyfn/eventgrid/<function>.
func EventGridPath(fn string) string { return EventGridRoute + fn }

// The parts of Event Grid's protocol the endpoint reads and writes.
const (
	// aegEventType says what a POST carries: SubscriptionValidation,
	// Notification or SubscriptionDeletion.
	aegEventType          = "Aeg-Event-Type"
	aegSubscriptionName   = "Aeg-Subscription-Name"
	aegDeliveryCount      = "Aeg-Delivery-Count"
	validationEvent       = "Microsoft.EventGrid.SubscriptionValidationEvent"
	subscriptionDeleted   = "Microsoft.EventGrid.SubscriptionDeletedEvent"
	eventTypeValidation   = "SubscriptionValidation"
	eventTypeDeletion     = "SubscriptionDeletion"
	webhookRequestOrigin  = "WebHook-Request-Origin"
	webhookAllowedOrigin  = "WebHook-Allowed-Origin"
	webhookAllowedRate    = "WebHook-Allowed-Rate"
	contentTypeCloudEvent = "application/cloudevents+json"
	contentTypeCloudBatch = "application/cloudevents-batch+json"
)

// maxEventGridRequestSize bounds the body of an Event Grid delivery: an
// event is at most 1 MB, and a batch at most preferredBatchSizeInKilobytes
// (1024 at most) or one event larger than that
// (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#output-batching);
// twice that leaves room for the envelopes.
const maxEventGridRequestSize = 2 << 20

// noRetry are the statuses after which Event Grid does not retry a webhook
// delivery but dead-letters the events (or drops them, without a
// dead-letter destination); every other failure is retried on its schedule
// (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#retry-schedule).
var noRetry = map[int]bool{
	http.StatusBadRequest: true, http.StatusUnauthorized: true,
	http.StatusForbidden: true, http.StatusRequestEntityTooLarge: true,
}

// servesEventGrid reports whether an event function of trigger t has an
// Event Grid endpoint: object functions (Blob Storage events) and message
// functions (custom-topic events).
func servesEventGrid(t core.Trigger) bool {
	switch t.(type) {
	case core.ObjectTrigger, core.MessageTrigger:
		return true
	}
	return false
}

// eventGridRoutes adds every Event Grid endpoint to m, each in the
// invocation metadata of its function.
func (h *Handler) eventGridRoutes(m routeMux) {
	for _, fn := range h.functions {
		if fn.http || !servesEventGrid(fn.event.Trigger) {
			continue
		}
		p := EventGridPath(fn.name)
		m.mux.Handle(p, h.invoked(fn, h.eventGridEndpoint(fn)))
		m.functions[p] = fn.name
	}
}

// eventGridEndpoint answers Event Grid for fn: the CloudEvents validation
// request (OPTIONS), and POSTs of validation events, of notifications and of
// the subscription's deletion.
func (h *Handler) eventGridEndpoint(fn function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodOptions:
			abuseProtection(w, r)
		case http.MethodPost:
			h.serveEventGrid(w, r, fn)
		default:
			w.Header().Set("Allow", "OPTIONS, POST")
			core.WriteProblem(w, core.Problem{
				Type: core.ProblemTypePrefix + "method-not-allowed", Title: http.StatusText(http.StatusMethodNotAllowed),
				Status: http.StatusMethodNotAllowed, Detail: "an Event Grid endpoint takes OPTIONS and POST", Instance: r.URL.Path,
			})
		}
	})
}

// abuseProtection answers the CloudEvents 1.0 validation request
// (https://github.com/cloudevents/spec/blob/v1.0/http-webhook.md#4-abuse-protection),
// which Event Grid sends for a subscription with the CloudEvents schema:
// OPTIONS with WebHook-Request-Origin (eventgrid.azure.net), answered 200
// with that origin in WebHook-Allowed-Origin and any rate. The handshake
// only protects the sender from unwanted traffic; the endpoint's key
// authenticates Event Grid.
func abuseProtection(w http.ResponseWriter, r *http.Request) {
	origin := strings.TrimSpace(r.Header.Get(webhookRequestOrigin))
	if origin == "" {
		core.WriteError(w, r, core.Errorf(core.InvalidArgument,
			"azurefunctions: an OPTIONS request to an Event Grid endpoint is a validation request and needs %s", webhookRequestOrigin))
		return
	}
	w.Header().Set("Allow", "OPTIONS, POST")
	w.Header().Set(webhookAllowedOrigin, origin)
	w.Header().Set(webhookAllowedRate, "*")
	w.WriteHeader(http.StatusOK)
}

// serveEventGrid answers one POST from Event Grid to fn's endpoint.
//
// A validation event (Event Grid schema) is answered with its code. A
// notification's events become neutral events, which go through
// core.ProcessBatch as one batch: Event Grid delivers a batch all or
// nothing, so any failure fails the whole request and every event of it is
// delivered again. The status is FailureStatus's: Event Grid retries the
// delivery except after 400, 401, 403 and 413, after which it dead-letters
// the events; when several events fail, a status it retries wins over one
// it does not, so that no event is dropped for another's failure.
func (h *Handler) serveEventGrid(w http.ResponseWriter, r *http.Request, fn function) {
	ctx := r.Context()
	g, err := h.decodeGridRequest(w, r, fn)
	if err != nil {
		h.reject(ctx, w, fn, err)
		return
	}
	switch {
	case g.validationCode != "":
		h.log.InfoContext(ctx, "azurefunctions: Event Grid subscription validated",
			slog.String("function", fn.name), slog.String("topic", g.topic), slog.String("subscription", r.Header.Get(aegSubscriptionName)))
		b, _ := json.Marshal(map[string]string{"validationResponse": g.validationCode})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return
	case g.deleted:
		h.log.InfoContext(ctx, "azurefunctions: the Event Grid subscription was deleted",
			slog.String("function", fn.name), slog.String("subscription", r.Header.Get(aegSubscriptionName)))
		w.WriteHeader(http.StatusOK)
		return
	}
	failures := core.ProcessBatch(ctx, fn.event.Handler, g.events, nil)
	if len(failures) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer := failures[0]
	for _, f := range failures {
		if !noRetry[FailureStatus(core.CodeOf(f.Err))] {
			answer = f
			break
		}
	}
	status := FailureStatus(core.CodeOf(answer.Err))
	then := "Event Grid will deliver the batch again"
	if noRetry[status] {
		then = "Event Grid will dead-letter the batch (or drop it without a dead-letter destination)"
	}
	for _, f := range failures {
		h.log.ErrorContext(ctx, "azurefunctions: event failed; "+then,
			slog.String("function", fn.name), slog.String("event_id", f.ID), slog.Int("batch", len(g.events)),
			slog.String("code", core.CodeOf(f.Err).String()), slog.Any("error", f.Err))
	}
	core.WriteProblem(w, problem(answer.Err, fn.name))
}

// gridRequest is what one POST to an Event Grid endpoint asks for: the
// answer to a validation event, the acknowledgement of the subscription's
// deletion, or fn's events (none when the trigger takes none of them).
type gridRequest struct {
	validationCode, topic string
	deleted               bool
	events                []core.Event
}

// decodeGridRequest reads and decodes a POST to fn's endpoint. Every error
// has a code: TooLarge past maxEventGridRequestSize, InvalidArgument for
// anything that is not a delivery fn takes. w may be nil.
func (h *Handler) decodeGridRequest(w http.ResponseWriter, r *http.Request, fn function) (gridRequest, error) {
	limit := min(h.maxBody, maxEventGridRequestSize)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return gridRequest{}, core.Errorf(core.TooLarge, "azurefunctions: Event Grid request larger than %d bytes", limit)
		}
		return gridRequest{}, core.Errorf(core.Canceled, "azurefunctions: reading the Event Grid request: %w", err)
	}
	invalid := func(err error) (gridRequest, error) {
		return gridRequest{}, core.Errorf(core.InvalidArgument, "azurefunctions: function %s: %w", fn.name, err)
	}
	raws, err := gridBatch(r.Header.Get("Content-Type"), body)
	if err != nil {
		return invalid(err)
	}
	heads, err := gridHeads(raws)
	if err != nil {
		return invalid(err)
	}
	kind := r.Header.Get(aegEventType)
	switch {
	case slices.ContainsFunc(heads, func(g gridHead) bool { return g.typ() == validationEvent }):
		return validation(heads, invalid)
	case kind == eventTypeValidation:
		return invalid(fmt.Errorf("a SubscriptionValidation request without a %s", validationEvent))
	case kind == eventTypeDeletion || len(heads) > 0 && !slices.ContainsFunc(heads, func(g gridHead) bool { return g.typ() != subscriptionDeleted }):
		return gridRequest{deleted: true}, nil
	}
	events, err := decodeGridDelivery(fn.event, raws, gridDelivery{
		subscription: r.Header.Get(aegSubscriptionName), deliveryCount: r.Header.Get(aegDeliveryCount),
	})
	if err != nil {
		return invalid(err)
	}
	return gridRequest{events: h.matching(r.Context(), fn.event, events)}, nil
}

// validation reads the Event Grid schema's validation handshake: the
// request carries one SubscriptionValidationEvent, whose validationCode
// goes back as {"validationResponse": …}
// (https://learn.microsoft.com/azure/event-grid/end-point-validation-event-grid-events-schema).
func validation(heads []gridHead, invalid func(error) (gridRequest, error)) (gridRequest, error) {
	if len(heads) != 1 {
		return invalid(fmt.Errorf("a validation request carries one event, not %d", len(heads)))
	}
	var data struct {
		ValidationCode string `json:"validationCode"`
	}
	if err := json.Unmarshal(heads[0].Data, &data); err != nil || data.ValidationCode == "" {
		return invalid(errors.New("the validation event has no data.validationCode"))
	}
	return gridRequest{validationCode: data.ValidationCode, topic: heads[0].source()}, nil
}

// eventGridDelivery is Decode's answer for a request to fn's endpoint:
// the events of a notification, none for a handshake or the deletion of
// the subscription (the function is not called).
func (h *Handler) eventGridDelivery(r *http.Request, fn function) (*core.Delivery, error) {
	d := &core.Delivery{Invocation: *h.newInvocation(fn, routeDelivery(r))}
	switch r.Method {
	case http.MethodOptions:
		if r.Header.Get(webhookRequestOrigin) == "" {
			return nil, core.Errorf(core.InvalidArgument,
				"azurefunctions: an OPTIONS request to an Event Grid endpoint is a validation request and needs %s", webhookRequestOrigin)
		}
		return d, nil
	case http.MethodPost:
	default:
		return nil, core.Errorf(core.InvalidArgument, "azurefunctions: an Event Grid endpoint takes OPTIONS and POST, not %s", r.Method)
	}
	g, err := h.decodeGridRequest(nil, r, fn)
	if err != nil {
		return nil, err
	}
	d.Events = g.events
	return d, nil
}

// gridBatch splits an Event Grid request body into its events: a JSON
// array (the Event Grid schema, always an array, and
// application/cloudevents-batch+json) or one object (a structured
// application/cloudevents+json event).
func gridBatch(contentType string, body []byte) ([]json.RawMessage, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return nil, errors.New("the Event Grid request is not JSON")
	}
	switch jsonKind(body) {
	case '[':
		if mt == contentTypeCloudEvent {
			return nil, fmt.Errorf("a %s request carries one event, not an array", contentTypeCloudEvent)
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("the Event Grid request: %w", err)
		}
		return raws, nil
	case '{':
		if mt == contentTypeCloudBatch {
			return nil, fmt.Errorf("a %s request carries an array of events", contentTypeCloudBatch)
		}
		return []json.RawMessage{body}, nil
	}
	return nil, fmt.Errorf("the Event Grid request is %s, not an event or an array of events", describe(body))
}

// gridHead is the envelope of one event, in either schema, with its
// other members: the Event Grid schema's dataVersion and metadataVersion,
// a CloudEvent's extension attributes.
type gridHead struct {
	gridEvent
	DataBase64      string          `json:"data_base64"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema"`
	DataVersion     string          `json:"dataVersion"`
	MetadataVersion string          `json:"metadataVersion"`
	raw             json.RawMessage // the event as sent
}

func (g gridHead) typ() string {
	if g.SpecVersion != "" {
		return g.Type
	}
	return g.EventType
}

func (g gridHead) source() string {
	if g.SpecVersion != "" {
		return g.Source
	}
	return g.Topic
}

func (g gridHead) time() string {
	if g.SpecVersion != "" {
		return g.Time
	}
	return g.EventTime
}

// gridHeads decodes the envelope of each event.
func gridHeads(raws []json.RawMessage) ([]gridHead, error) {
	heads := make([]gridHead, len(raws))
	for i, raw := range raws {
		if jsonKind(raw) != '{' {
			return nil, fmt.Errorf("event %d is %s, not an object", i, describe(raw))
		}
		if err := json.Unmarshal(raw, &heads[i]); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		heads[i].raw = raw
		if heads[i].typ() == "" || heads[i].ID == "" {
			return nil, fmt.Errorf("event %d has no id or type: neither the Event Grid schema (eventType) nor CloudEvents 1.0 (specversion, type)", i)
		}
	}
	return heads, nil
}

// gridDelivery is what a delivery's headers say about its events.
type gridDelivery struct {
	subscription  string // aeg-subscription-name
	deliveryCount string // aeg-delivery-count
}

// decodeGridDelivery turns a notification's events into fn's events: Blob
// Storage events into object events for an object function (an event of
// another source is an error, as the subscription's filter should have
// excluded it; Storage events of no object kind, or of a kind the trigger
// does not ask for, are acknowledged unread); any event into a message
// event for a message function.
func decodeGridDelivery(fn core.EventFunc, raws []json.RawMessage, d gridDelivery) ([]core.Event, error) {
	var events []core.Event
	for i, raw := range raws {
		var e core.Event
		var err error
		switch t := fn.Trigger.(type) {
		case core.ObjectTrigger:
			e, err = decodeGridEvent(raw, t)
			if errors.Is(err, errNotObjectEvent) {
				continue
			}
			if errors.Is(err, errNotStorageEvent) {
				err = fmt.Errorf("%w, and function %s takes Blob Storage events", err, fn.Name)
			}
		case core.MessageTrigger:
			e, err = decodeGridMessage(raw, d)
		default:
			err = fmt.Errorf("trigger %T takes no Event Grid events", t)
		}
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// decodeGridMessage decodes an event of a custom topic (or any other) into
// a message event:
//
//   - Message.ID is the event's id, Subject its subject, PublishTime its
//     time, Subscription the Event Grid subscription;
//   - Body is the data: a CloudEvent's data_base64 decoded, a CloudEvent's
//     string data of a non-JSON datacontenttype as its text, any other data
//     as its JSON; ContentType the CloudEvent's datacontenttype, or
//     application/json for Event Grid schema data;
//   - Attributes are a CloudEvent's extension attributes (non-strings as
//     their JSON text); Broker holds dataVersion, metadataVersion,
//     dataschema and aeg-delivery-count where sent.
//
// The neutral event's source is the topic (Event Grid schema) or source,
// and its native type the event's type.
func decodeGridMessage(raw json.RawMessage, d gridDelivery) (core.Event, error) {
	var g gridHead
	if err := json.Unmarshal(raw, &g); err != nil {
		return core.Event{}, err
	}
	m := &core.Message{ID: g.ID, Subject: g.Subject, Subscription: d.subscription, Broker: map[string]string{}}
	data := bytes.TrimSpace(g.Data)
	switch {
	case g.DataBase64 != "":
		b, err := base64.StdEncoding.DecodeString(g.DataBase64)
		if err != nil {
			return core.Event{}, fmt.Errorf("data_base64: %w", err)
		}
		m.Body = b
	case jsonKind(data) == 0 || jsonKind(data) == 'n':
	case g.SpecVersion != "" && g.DataContentType != "" && !isJSONMediaType(g.DataContentType) && jsonKind(data) == '"':
		s, err := decodeString(data)
		if err != nil {
			return core.Event{}, fmt.Errorf("data: %w", err)
		}
		m.Body = []byte(s)
	default:
		m.Body = slices.Clone(data)
	}
	m.ContentType = g.DataContentType
	if m.ContentType == "" && g.SpecVersion == "" && len(m.Body) > 0 {
		m.ContentType = "application/json"
	}
	for k, v := range map[string]string{
		"dataVersion": g.DataVersion, "metadataVersion": g.MetadataVersion, "dataschema": g.DataSchema, "aeg-delivery-count": d.deliveryCount,
	} {
		if v != "" {
			m.Broker[k] = v
		}
	}
	if len(m.Broker) == 0 {
		m.Broker = nil
	}
	if g.SpecVersion != "" {
		var all map[string]json.RawMessage
		if err := json.Unmarshal(raw, &all); err != nil {
			return core.Event{}, err
		}
		for k, v := range all {
			if cloudEventsMembers[k] {
				continue
			}
			if m.Attributes == nil {
				m.Attributes = map[string]string{}
			}
			if s, err := decodeString(v); err == nil && jsonKind(v) == '"' {
				m.Attributes[k] = s
			} else {
				m.Attributes[k] = string(bytes.TrimSpace(v))
			}
		}
	}
	var at time.Time
	if when := g.time(); when != "" {
		var err error
		if at, err = parseTime(when); err != nil {
			return core.Event{}, err
		}
		m.PublishTime = at
	}
	src := g.source()
	if src == "" {
		return core.Event{}, errors.New("the event names no topic or source")
	}
	return newEvent(core.TypeMessage, g.ID, src, m, g.Subject, at, g.typ())
}

// cloudEventsMembers are the members of a structured CloudEvent that are
// not extension attributes.
var cloudEventsMembers = map[string]bool{
	"id": true, "source": true, "specversion": true, "type": true, "subject": true, "time": true,
	"datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
}

// isJSONMediaType reports whether a media type is JSON
// (application/json, or any +json).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(ct)
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// errWebhookInvocation is a default-mode invocation of an event function
// that carries an HTTP request (Data.req): Event Grid's delivery to the
// function's httpTrigger, served through the routes.
var errWebhookInvocation = errors.New("azurefunctions: an HTTP invocation of an event function")

// webhookInvocation reports whether a default-mode invocation of fn,
// whose Data is data, is an HTTP request to its Event Grid endpoint.
func webhookInvocation(fn core.EventFunc, data map[string]json.RawMessage) bool {
	_, ok := data[BindingRequest]
	return ok && servesEventGrid(fn.Trigger)
}

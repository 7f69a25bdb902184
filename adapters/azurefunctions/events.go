package azurefunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// byCode is the adapter's one table from the code of a failed event
// to the status of the reply to the host. Every status is an error: a
// non-2xx reply is the only way a custom handler can make the host retry an
// event (a 2xx reply acknowledges it, and a queue message is deleted), so
// every failure is retried by the trigger's own policy and ends, after its
// last delivery, in the trigger's poison or dead-letter store (queue:
// <queue>-poison after host.json's maxDequeueCount, 5 by default; Service
// Bus: the entity's dead-letter queue after its MaxDeliveryCount; blob
// trigger: webjobs-blobtrigger-poison; Event Grid: its retry schedule, then
// the subscription's dead-letter destination; timers and Cosmos DB: the
// retry policy in function.json). The host reads only whether the status is
// 2xx and names it in its log, so the statuses are the ones HTTP functions
// answer (core.HTTPStatus), that an operator reads the same way; a
// cancellation, which HTTP has no status for, is 503.
var byCode = map[core.Code]int{
	core.Unknown:              http.StatusInternalServerError,
	core.InvalidArgument:      http.StatusBadRequest,
	core.Unauthenticated:      http.StatusUnauthorized,
	core.PermissionDenied:     http.StatusForbidden,
	core.NotFound:             http.StatusNotFound,
	core.AlreadyExists:        http.StatusConflict,
	core.Aborted:              http.StatusConflict,
	core.FailedPrecondition:   http.StatusUnprocessableEntity,
	core.TooLarge:             http.StatusRequestEntityTooLarge,
	core.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	core.ResourceExhausted:    http.StatusTooManyRequests,
	core.Canceled:             http.StatusServiceUnavailable,
	core.DeadlineExceeded:     http.StatusGatewayTimeout,
	core.Unimplemented:        http.StatusNotImplemented,
	core.Unavailable:          http.StatusServiceUnavailable,
	core.Internal:             http.StatusInternalServerError,
}

// FailureStatus returns the status of the reply to the host for an event
// that failed with code; an unknown code gives 500.
func FailureStatus(code core.Code) int {
	if s, ok := byCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// problem is the problem+json body of a failed invocation. The host reads
// only the status; the body is for people and tests. Like WriteError, it
// shows the text of client errors only.
func problem(err error, fn string) core.Problem {
	p := core.ProblemFor(err, "/"+fn)
	p.Status = FailureStatus(core.CodeOf(err))
	p.Title = http.StatusText(p.Status)
	return p
}

// eventInvocation is a default-mode request body for an event function.
type eventInvocation struct {
	Data     map[string]json.RawMessage
	Metadata metadata
}

// decoded is what one trigger's payload becomes.
type decoded struct {
	events []core.Event
	// trace is a trace context carried in the payload, used when the host's
	// request has none (a Service Bus message's Diagnostic-Id).
	trace core.Trace
	// retry is the RetryContext of a stream batch the retry policy reruns.
	retry retryContext
}

// serveEvents runs a default-mode invocation of an event function: the
// payload becomes neutral events, which go through core.ProcessBatch; any
// failure fails the invocation so that the host retries it.
func (h *Handler) serveEvents(ctx context.Context, w http.ResponseWriter, fn function, body []byte, logs *logBuffer) {
	d, _ := ctx.Value(deliveryKey{}).(delivery)
	inv, batch, err := h.decodeBatch(ctx, fn, body, d)
	events := batch.events
	if errors.Is(err, errWebhookInvocation) { // Event Grid, through the function's httpTrigger
		h.serveHTTPFunction(ctx, w, fn, body, logs)
		return
	}
	if inv != nil {
		var cancel context.CancelFunc
		ctx, cancel = h.run(ctx, inv)
		defer cancel()
	}
	if err != nil {
		h.reject(ctx, w, fn, err)
		return
	}
	if _, ok := fn.event.Trigger.(core.StreamTrigger); ok {
		h.serveRecords(ctx, w, fn, events, batch.retry, logs)
		return
	}
	failures := core.ProcessBatch(ctx, fn.event.Handler, events, &core.BatchOptions{Ordered: ordered(fn.event.Trigger)})
	if len(failures) == 0 {
		writeReply(w, http.StatusOK, invocationReply{Outputs: map[string]any{}, Logs: logs.close()})
		return
	}
	for _, f := range failures {
		h.log.ErrorContext(ctx, "azurefunctions: event failed; the host will retry the invocation",
			slog.String("function", fn.name), slog.String("event_id", f.ID),
			slog.String("code", core.CodeOf(f.Err).String()), slog.Any("error", f.Err))
	}
	core.WriteProblem(w, problem(failures[0].Err, fn.name))
}

// decodeInvocation decodes a default-mode invocation of the event function
// fn that the host described with d: its metadata, and the events for the
// function's handler. The invocation is nil when the request is not an
// invocation at all; it is set with any error of the payload. Every error
// has the code InvalidArgument.
func (h *Handler) decodeInvocation(ctx context.Context, fn function, body []byte, d delivery) (*core.Invocation, []core.Event, error) {
	inv, batch, err := h.decodeBatch(ctx, fn, body, d)
	return inv, batch.events, err
}

// decodeBatch is decodeInvocation with all the payload says (a stream
// batch's retry count besides its events).
func (h *Handler) decodeBatch(ctx context.Context, fn function, body []byte, d delivery) (*core.Invocation, decoded, error) {
	var in eventInvocation
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, decoded{}, core.Errorf(core.InvalidArgument, "azurefunctions: malformed invocation request: %w", err)
	}
	if webhookInvocation(fn.event, in.Data) {
		return nil, decoded{}, errWebhookInvocation
	}
	inv := h.newInvocation(fn, d)
	batch, err := decodeEvents(fn.event, in, d.id)
	if err != nil {
		return inv, decoded{}, err
	}
	if inv.Trace.IsZero() {
		inv.Trace = batch.trace
	}
	batch.events = h.matching(ctx, fn.event, batch.events)
	return inv, batch, nil
}

// matching leaves out the object events the trigger does not ask for: a
// blob path or Event Grid filter that is wider than the trigger's prefix,
// suffix and kinds.
func (h *Handler) matching(ctx context.Context, fn core.EventFunc, events []core.Event) []core.Event {
	t, ok := fn.Trigger.(core.ObjectTrigger)
	if !ok {
		return events
	}
	return slices.DeleteFunc(events, func(e core.Event) bool {
		if t.Matches(e.Kind(), e.Object.Key) {
			return false
		}
		h.log.DebugContext(ctx, "azurefunctions: object event outside the trigger's filter; acknowledged",
			slog.String("function", fn.Name), slog.String("kind", string(e.Kind())), slog.String("key", e.Object.Key))
		return true
	})
}

func ordered(t core.Trigger) bool {
	switch t := t.(type) {
	case core.MessageTrigger:
		return t.Ordered
	case core.ChangeTrigger:
		return t.Ordered
	case core.StreamTrigger:
		return true
	}
	return false
}

// decodeEvents turns one invocation's payload into events for fn. Every
// error has the code InvalidArgument.
func decodeEvents(fn core.EventFunc, in eventInvocation, invocationID string) (decoded, error) {
	payload, err := triggerData(in.Data, bindingOf(fn.Trigger))
	if err != nil {
		return decoded{}, err
	}
	src := source{function: fn.Name, invocationID: invocationID, meta: in.Metadata, sys: in.Metadata.sys()}
	var d decoded
	switch t := fn.Trigger.(type) {
	case core.ObjectTrigger:
		d, err = decodeObjects(src, payload, t)
	case core.MessageTrigger:
		d, err = decodeMessage(src, payload)
	case core.ChangeTrigger:
		d, err = decodeChanges(src, payload)
	case core.TimerTrigger:
		d, err = decodeTimer(src, payload)
	case core.StreamTrigger:
		d, err = decodeRecords(src, payload)
	default:
		err = fmt.Errorf("trigger %T is not supported", t)
	}
	if err != nil {
		return decoded{}, core.Errorf(core.InvalidArgument, "azurefunctions: function %s: %w", fn.Name, err)
	}
	return d, nil
}

// bindingOf is the binding name polyfn build gives a trigger.
func bindingOf(t core.Trigger) string {
	switch t := t.(type) {
	case core.ObjectTrigger:
		if slices.Contains(t.Kinds(), core.KindObjectDeleted) {
			return BindingEvent
		}
		return BindingBlob
	case core.MessageTrigger:
		return BindingMessage
	case core.ChangeTrigger:
		return BindingDocuments
	case core.StreamTrigger:
		return BindingRecords
	}
	return BindingTimer
}

// triggerData returns Data[name], or the only entry of Data.
func triggerData(data map[string]json.RawMessage, name string) (json.RawMessage, error) {
	if v, ok := data[name]; ok {
		return v, nil
	}
	for k, v := range data {
		if strings.EqualFold(k, name) || len(data) == 1 {
			return v, nil
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return nil, core.Errorf(core.InvalidArgument, "azurefunctions: the invocation's Data has no %q binding (it has %q)", name, keys)
}

// source is what every trigger decoder knows besides its payload.
type source struct {
	function     string
	invocationID string
	meta         metadata
	sys          sys
}

// uri names the function as a CloudEvents source, for triggers whose
// payload names no source of its own (queue and Service Bus messages, timers).
func (s source) uri() string { return "polyfn://azure/functions/" + s.function }

// now is the host's time of the invocation, for events that carry none.
func (s source) now() time.Time {
	if !s.sys.UtcNow.IsZero() {
		return s.sys.UtcNow
	}
	return time.Now().UTC()
}

// newEvent builds and validates one neutral event.
func newEvent(typ, id, src string, data any, subject string, t time.Time, native string) (core.Event, error) {
	e, err := core.NewEvent(typ, id, src, data)
	if err != nil {
		return core.Event{}, err
	}
	if subject != "" {
		e.SetSubject(subject)
	}
	if !t.IsZero() {
		e.SetTime(t)
	}
	e.SetExtension(core.NativeTypeExtension, native)
	if err := e.Validate(); err != nil {
		return core.Event{}, fmt.Errorf("invalid event: %s", strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	return e, nil
}

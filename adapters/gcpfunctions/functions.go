package gcpfunctions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// entryPoint is one function registered with the Functions Framework, served
// when FUNCTION_TARGET names it. Every entry point is an HTTP function (see
// receiveEvent for why event functions are too).
type entryPoint struct {
	name string
	http http.HandlerFunc
}

// httpFunction serves an app's routes, a unit sized sz. The framework
// passes the request as it arrived: repeated headers and query keys, and
// the body, are untouched.
func (r *Registration) httpFunction(name string, sz core.Sizing, h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if !r.gate.enter() {
			core.WriteError(w, req, core.Errorf(core.Unavailable, "gcpfunctions: shutting down"))
			return
		}
		defer r.gate.leave()
		ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(withRequest(req.Context(), req)), httpInvocation(req, name, sz))
		defer cancel()
		h.ServeHTTP(w, req.WithContext(ctx))
	}
}

// eventFunction runs an event function for each event a request delivers:
// a CloudEvent in binary or structured mode, a Pub/Sub push request or a
// legacy background event (receiveEvent).
func (r *Registration) eventFunction(fn core.EventFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "gcpfunctions: an event function takes POST requests", http.StatusMethodNotAllowed)
			return
		}
		ce, err := receiveEvent(w, req)
		if err != nil && r.decoded != nil {
			r.decoded(nil, err)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), receiveStatus(err))
			return
		}
		if status, reason := r.deliverCloudEvent(req.Context(), req.Header, ce, fn); status != http.StatusOK {
			http.Error(w, reason, status)
		}
	}
}

// deliverCloudEvent runs fn for the CloudEvent ce, which a request with the
// headers h delivered, and returns the status to answer with and, for any
// other status than 200, a short reason.
func (r *Registration) deliverCloudEvent(ctx context.Context, h http.Header, ce *event.Event, fn core.EventFunc) (int, string) {
	status, reason, _ := r.deliver(ctx, fn, cloudEventInvocation(ctx, h, ce, fn.Name, fn.DeclaredSizing()), ce.Type(),
		func() (core.Event, error) { return toNeutral(ce, fn.Trigger, fn.Name) })
	return status, reason
}

// timerFunction runs a timer function. It takes Cloud Scheduler's
// HTTP-target requests, which are not CloudEvents, and everything an event
// function takes (a Pub/Sub target through Eventarc or a push
// subscription).
func (r *Registration) timerFunction(fn core.EventFunc) (http.HandlerFunc, error) {
	events := r.eventFunction(fn)
	return func(w http.ResponseWriter, req *http.Request) {
		if !isSchedulerRequest(req) {
			events(w, req)
			return
		}
		status, reason, err := r.deliver(req.Context(), fn, httpInvocation(req, fn.Name, fn.DeclaredSizing()), schedulerType,
			func() (core.Event, error) { return timerFromRequest(w, req) })
		if status != http.StatusOK {
			core.WriteProblem(w, schedulerProblem(status, core.CodeOf(err), reason, req.URL.Path))
		}
	}, nil
}

// schedulerProblem is the RFC 9457 answer to a Cloud Scheduler run that did
// not succeed. Its status is the one Cloud Scheduler acts on (a retry, or 202
// for a run that failed for good and is acknowledged), its type the failure's
// code, and its detail the delivery's short reason, which never carries the
// error's text.
func schedulerProblem(status int, code core.Code, reason, path string) core.Problem {
	p := core.ProblemFor(core.Errorf(code, "%s", reason), path)
	p.Status, p.Title, p.Detail = status, http.StatusText(status), reason
	return p
}

// deliver runs one delivery of an event to fn: it decodes the event, applies
// the trigger's filter and calls the handler, with panics contained. It
// returns the status to answer with and, for any other status than 200, a
// short reason and the failure.
func (r *Registration) deliver(ctx context.Context, fn core.EventFunc, inv *core.Invocation, nativeType string, decode func() (core.Event, error)) (int, string, error) {
	if !r.gate.enter() {
		return http.StatusServiceUnavailable, "gcpfunctions: shutting down; redeliver", core.Errorf(core.Unavailable, "gcpfunctions: shutting down")
	}
	defer r.gate.leave()
	ctx, cancel := core.WithInvocation(telemetry.WithInvocationLog(ctx), inv)
	defer cancel()
	id := inv.ID
	e, err := decode()
	if r.decoded != nil {
		r.decoded(delivery(inv, fn.Trigger, e, err))
		return http.StatusOK, "", nil
	}
	if err == nil {
		id = e.ID()
		if filtered(fn.Trigger, e) {
			return http.StatusOK, "", nil
		}
		if err = core.Invoke(ctx, fn.Handler, e); err == nil {
			return http.StatusOK, "", nil
		}
	}
	status, reason := failed(ctx, fn.Name, id, nativeType, err)
	return status, reason, err
}

// httpInvocation is the invocation metadata of an HTTP request to a unit
// sized sz: the execution id from Function-Execution-Id or the framework,
// the trace from the headers, and the deadline (see unitDeadline).
func httpInvocation(r *http.Request, function string, sz core.Sizing) *core.Invocation {
	inv := &core.Invocation{
		ID:        first(r.Header.Get("Function-Execution-Id"), funcframework.ExecutionIDFromContext(r.Context())),
		Cloud:     core.CloudGCP,
		Function:  function,
		Trace:     traceFromHeader(r.Header),
		ColdStart: core.ColdStart(),
	}
	if inv.ID == "" { // served outside the framework
		inv.ID = newID()
	}
	inv.Deadline = unitDeadline(r.Context(), sz)
	return inv
}

// cloudEventInvocation is the invocation metadata of a CloudEvent for an
// event function sized sz, delivered by a request with the headers h: its
// id, the request's trace (traceparent, else X-Cloud-Trace-Context, which
// Cloud Run sets on every request it delivers, Eventarc's included), and
// the deadline (see unitDeadline). The event's own traceparent extension is
// the producer's trace, which the event keeps (core.Event.Trace); the
// invocation takes it only when the request carries no trace.
func cloudEventInvocation(ctx context.Context, h http.Header, ce *event.Event, function string, sz core.Sizing) *core.Invocation {
	inv := &core.Invocation{ID: ce.ID(), Cloud: core.CloudGCP, Function: function, Trace: traceFromHeader(h), ColdStart: core.ColdStart()}
	if tp, ok := ce.Extensions()[core.TraceparentExtension].(string); ok && inv.Trace.IsZero() {
		inv.Trace, _ = core.ParseTraceparent(tp)
	}
	inv.Deadline = unitDeadline(ctx, sz)
	return inv
}

// unitDeadline is the deadline of an invocation of a unit sized sz that
// starts now: its declared timeout, or Cloud Run's request timeout when
// that is earlier. Cloud Run sends no deadline with a request; the
// framework puts CLOUD_RUN_TIMEOUT_SECONDS, when it is set, on the
// request's context, which is where this reads it.
func unitDeadline(ctx context.Context, sz core.Sizing) time.Time {
	platform, _ := ctx.Deadline()
	return sz.Deadline(time.Now(), platform)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

package azurefunctions

import (
	"context"
	"errors"
	"net/http"

	"github.com/polyfn/polyfn/core"
)

// Decode decodes one request the host sends as ServeHTTP does, with the
// same code, and returns what the app would receive instead of running it:
//
//   - a default-mode invocation (POST /<function> with an invocation id):
//     the events of an event function's trigger, or the client's request
//     rebuilt from an HTTP trigger's Data.req;
//   - any other request (forwarded, proxied or sent directly): the request
//     as the app's routes receive it.
//
// The invocation's ID is empty when the host sent none. Object events
// outside the trigger's filter are left out, as they are not delivered.
// A request ServeHTTP would refuse gives the error it would answer with: a
// malformed payload InvalidArgument, a path no route serves NotFound.
func (h *Handler) Decode(r *http.Request) (*core.Delivery, error) {
	t := h.targetOf(r)
	switch t.kind {
	case targetReadiness:
		return nil, core.Errorf(core.InvalidArgument, "azurefunctions: GET / without an invocation id is the host's readiness poll, not an invocation")
	case targetHTTPRequest:
		req, err := h.httpRequest(r)
		if err != nil {
			return nil, err
		}
		return h.routeDelivery(req)
	}
	body, err := readBody(nil, r, h.maxBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, core.Errorf(core.TooLarge, "azurefunctions: invocation request larger than %d bytes", h.maxBody)
		}
		return nil, core.Errorf(core.Canceled, "azurefunctions: reading the invocation request: %w", err)
	}
	d := invocationDelivery(r, t.id)
	ctx := context.WithValue(r.Context(), deliveryKey{}, d)
	if !t.fn.http {
		inv, events, err := h.decodeInvocation(ctx, t.fn, body, d)
		if !errors.Is(err, errWebhookInvocation) { // else Event Grid, through the function's httpTrigger
			if err != nil {
				return nil, err
			}
			return &core.Delivery{Invocation: *inv, Events: events}, nil
		}
	}
	req, err := h.triggerRequest(ctx, body)
	if err != nil {
		return nil, err
	}
	return h.routeDelivery(req)
}

// routeDelivery is the delivery of an HTTP request to the route that serves
// it, in the invocation metadata that route's function gives it.
func (h *Handler) routeDelivery(r *http.Request) (*core.Delivery, error) {
	fn, ok := h.routes.functionOf(r)
	if !ok {
		return nil, core.Errorf(core.NotFound, "azurefunctions: no route serves %s %s", r.Method, r.URL.Path)
	}
	if f := h.functions[fn]; !f.http { // an event function's Event Grid endpoint
		return h.eventGridDelivery(r, f)
	}
	return &core.Delivery{Invocation: *h.newInvocation(h.functions[fn], routeDelivery(r)), Request: r}, nil
}

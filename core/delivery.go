package core

import "net/http"

// Delivery is one invocation as an adapter decodes it, before anything runs:
// the invocation's metadata and either the HTTP request or the events a
// function receives. Adapters return it from their Decode entry points,
// which share their code with the invocations they serve, so that tools
// (polyfn inspect) show exactly what a function would receive from a given
// native payload.
type Delivery struct {
	// Invocation is the metadata the function finds with InvocationFrom. Its
	// ID is empty when the platform sent none (an adapter serving the
	// invocation then makes one up); ColdStart is not decided.
	Invocation Invocation
	// Request is the request of an HTTP invocation, as the app's handler
	// receives it; nil for an event invocation.
	Request *http.Request
	// RequestID is the platform's own id of an HTTP request, when it gives
	// one apart from the invocation id (API Gateway's requestContext.requestId).
	RequestID string
	// Events are the events of an event invocation, in delivery order: one,
	// or a batch. It is empty when the platform's payload holds no event the
	// function takes (an Event Grid event of another type, an object outside
	// the trigger's prefix): the function is not called.
	Events []Event
}

// Package azurefunctions runs core.Apps as an Azure Functions custom
// handler: a web server that the Functions host starts, polls on / until it
// answers, and sends every invocation to over HTTP on 127.0.0.1 (see
// docs/azure.md for deployment).
//
// One Handler answers the host's three kinds of request:
//
//   - Default mode, for every event trigger and for HTTP triggers unless
//     one of the two flags below is set: POST /<function> with
//     X-Azure-Functions-InvocationId and a JSON body {"Data": …,
//     "Metadata": …}. The handler decodes the trigger's payload into
//     neutral events (or, for an HTTP trigger, rebuilds the client's
//     request and runs it through the app's routes) and replies 200 with
//     {"Outputs": …, "Logs": […], "ReturnValue": …}. A failed event gets a
//     non-2xx reply, so the host retries it (FailureStatus).
//   - enableForwardingHttpRequest: the host rebuilds the client's request
//     (path /api/…, repeated query values comma-joined) and returns the
//     handler's response as it is. The original query is recovered from
//     App Service's X-Original-URL where it matches.
//   - enableProxyingHttpRequest: the host proxies the request as it is,
//     with x-ms-invocation-id.
//
// In the two HTTP modes the route prefix (/api, Options.RoutePrefix) is
// removed before the app's routes see the path.
//
// # Event Grid
//
// Every object and message function also has an Event Grid endpoint,
// EventGridPath(function) under the route prefix, reached in any of the
// three modes (in default mode through the function's httpTrigger): it
// answers both validation handshakes, and turns a delivery — the Event
// Grid schema or CloudEvents 1.0, one event or a batch — into one batch of
// neutral events, Blob Storage events as object events (BlobTierChanged
// tiered, a rehydration restored), any event as a message for a message
// function, failing the whole batch with FailureStatus's status when any
// event fails (eventgrid.go; docs/azure.md, "Event Grid delivery").
//
// # Function names
//
// Each HTTP route is one Azure function and each event function another.
// Event functions keep their names; a route's name comes from its method
// and path (FunctionNames): "GET /users/{id}" is get-users-id.
//
// # Value encoding
//
// The host encodes each value of Data and Metadata by its .NET type: byte
// arrays as base64 strings, objects as objects, and everything else —
// strings, numbers, arrays, URIs — as JSON text inside a JSON string. A
// queue message hello arrives as "\"hello\"", a DequeueCount of 1 as "1",
// a blob's Uri as "\"https://…\"", Cosmos DB documents as "[{…}]". Keys
// ending in "Trigger" (BlobTrigger, QueueTrigger) are never sent. The
// decoders undo exactly this, accept the plainer forms of the
// documentation's examples, and reject anything else with an
// InvalidArgument error, never a panic.
//
// # Logs
//
// Records logged through a LogHandler with an invocation's context
// (slog.InfoContext(ctx, …)) are returned in that invocation's Logs, which
// the host writes to the invocation's own log, and are written to stdout
// too. Replies in the two HTTP modes have no Logs: their lines reach
// stdout only.
package azurefunctions

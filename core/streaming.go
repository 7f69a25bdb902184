package core

// StreamResponses declares that the app's HTTP handlers stream their
// responses: what a handler writes and flushes (http.Flusher,
// http.NewResponseController(w).Flush, server-sent events) reaches the
// client before the handler returns.
//
// A handler that flushes streams without it wherever the platform's front
// door passes a response on as it is written (the local runtime, Cloud
// Run, the functions framework). The declaration is for the platforms
// where streaming is a property of the deployment: on AWS Lambda, polyfn
// build gives the routes' unit a function URL in RESPONSE_STREAM mode and
// the bootstrap answers its invocations with Lambda's streaming response
// (docs/aws.md, Streaming responses); an app that does not declare it has
// no function URL and its responses are buffered. Handlers that do not
// flush work unchanged either way: their status, headers, cookies and body
// arrive as they would buffered.
//
// See docs/azure.md for what the Functions host does with a custom
// handler's response. StreamResponses panics when called after Init, as
// declarations do.
func (a *App) StreamResponses() {
	if a.started.Load() {
		panic("core: StreamResponses after " + a.name + "'s Init: the deployment would not know of it")
	}
	a.streaming = true
}

// StreamsResponses reports whether the app declared StreamResponses.
func (a *App) StreamsResponses() bool { return a.streaming }

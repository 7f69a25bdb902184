package core

import "net/http"

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

// Flush passes a handler's flush through the app's response wrappers to
// the platform's writer, for handlers that assert http.Flusher rather than
// use http.ResponseController (which reaches it through Unwrap). Like
// net/http's, a flush sends the status: 200 unless one was written.
func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	flush(s.ResponseWriter)
}

// Flush passes a handler's flush on; the response has then started.
func (t *trackingWriter) Flush() {
	t.wrote = true
	flush(t.ResponseWriter)
}

// flush flushes w where it can; a writer that cannot flush sends its
// response when the handler returns.
func flush(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }

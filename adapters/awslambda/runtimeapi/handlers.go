package runtimeapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// The Runtime API's headers (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	headerRequestID     = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline      = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID       = "Lambda-Runtime-Trace-Id"
	headerClientContext = "Lambda-Runtime-Client-Context"
	headerErrorType     = "Lambda-Runtime-Function-Error-Type"
	headerErrorBody     = "Lambda-Runtime-Function-Error-Body"
)

// routes returns the server's handler: the Runtime API, the part of the
// Extensions API aws-lambda-go uses, and the Invoke API's invoke endpoint.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.initError)
	mux.HandleFunc("POST /2020-01-01/extension/register", s.registerExtension)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", s.extensionNext)
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.invoke)
	return mux
}

// next is GET /runtime/invocation/next: a long poll for the next
// invocation. Asking for one ends the process's init.
func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.proc
	var gone chan struct{}
	if p != nil {
		p.initialized = true
		gone = p.done
	}
	s.mu.Unlock()
	inv, deadline, err := s.take(r.Context(), gone)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			// The documented answer that tells a runtime to exit.
			writeError(w, http.StatusInternalServerError, "Runtime.Shutdown", "Container error. Non-recoverable state. Runtime should exit promptly.")
		}
		return // the runtime is gone: nobody reads an answer
	}
	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set(headerFunctionARN, s.arn)
	h.Set(headerTraceID, inv.trace)
	if inv.clientContext != "" {
		h.Set(headerClientContext, inv.clientContext)
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.payload)
}

// response is POST /runtime/invocation/{id}/response.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, false)
}

// invocationError is POST /runtime/invocation/{id}/error.
func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, true)
}

// answer completes the current invocation with the runtime's response or
// error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, failed bool) {
	if !failed {
		if inv := s.streamingCurrent(r.PathValue("id")); inv != nil {
			s.stream(w, r, inv)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	inv := s.current
	if inv == nil || inv.id != id {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+strconv.Quote(id)+" is in progress")
		return
	}
	s.current = nil
	s.broadcast()
	s.mu.Unlock()

	resp := Response{Payload: body}
	switch {
	case len(body) > MaxPayload:
		msg := "Response payload size exceeded maximum allowed payload size (" + strconv.Itoa(MaxPayload) + " bytes)."
		s.finish(inv, errorResponse("Function.ResponseSizeTooLarge", msg), nil)
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	case failed:
		resp = functionError(r.Header.Get(headerErrorType), body)
	case r.Trailer.Get(headerErrorType) != "":
		// aws-lambda-go streams responses and, when reading one fails
		// half-way, reports the error in trailers.
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(headerErrorBody))
		resp = functionError(r.Trailer.Get(headerErrorType), doc)
	}
	s.finish(inv, resp, nil)
	writeAccepted(w)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// functionError is the response to a reported function error: the
// runtime's error document when it sent one, else one from its error type.
func functionError(errorType string, doc []byte) Response {
	if len(doc) > 0 && json.Valid(doc) {
		return Response{Payload: doc, FunctionError: "Unhandled"}
	}
	if errorType == "" {
		errorType = "Unhandled"
	}
	return errorResponse(errorType, "")
}

// initError is POST /runtime/init/error: the runtime could not start. It
// is kept as the error of the invocation its init was for, once the
// process exits.
func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	resp := functionError(r.Header.Get(headerErrorType), body)
	s.mu.Lock()
	p := s.proc
	if p != nil && p.initialized {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "InvalidStateTransition", "init/error after the runtime asked for an invocation")
		return
	}
	if p != nil {
		p.initError = resp.Payload
	}
	s.mu.Unlock()
	s.log.Warn("runtime init failed", "error", string(resp.Payload))
	writeAccepted(w)
}

// registerExtension is POST /2020-01-01/extension/register. aws-lambda-go
// registers an internal extension, which subscribes to no event, so that
// Lambda sends the runtime SIGTERM before stopping it.
func (s *Server) registerExtension(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.proc != nil {
		s.proc.extension = true
	}
	s.mu.Unlock()
	w.Header().Set("Lambda-Extension-Identifier", newRequestID())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName": s.opts.FunctionName, "functionVersion": "$LATEST", "handler": "bootstrap",
	})
}

// extensionNext is GET /2020-01-01/extension/event/next. The extension
// aws-lambda-go registers subscribes to no event, and Lambda never answers
// its poll: it blocks until its process exits.
func (s *Server) extensionNext(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var gone chan struct{}
	if s.proc != nil {
		gone = s.proc.done
	}
	s.mu.Unlock()
	select {
	case <-gone:
	case <-r.Context().Done():
	}
}

// invoke is the Invoke API's POST /2015-03-31/functions/{name}/invocations,
// the path AWS's emulator serves too: X-Amz-Invocation-Type RequestResponse
// (the default) waits and answers 200 with the function's response, or with
// its error document and X-Amz-Function-Error: Unhandled; Event queues and
// answers 202; DryRun answers 204.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "reading the body: "+err.Error())
		return
	}
	if len(payload) > MaxPayload {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than "+strconv.Itoa(MaxPayload)+" bytes for the InvokeFunction operation")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}") // what the AWS CLI sends without --payload
	}
	clientContext, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Amz-Client-Context"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "X-Amz-Client-Context is not base64")
		return
	}
	kind := r.Header.Get("X-Amz-Invocation-Type")
	switch kind {
	case "", "RequestResponse", "Event":
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "unknown X-Amz-Invocation-Type "+strconv.Quote(kind))
		return
	}
	inv, err := s.enqueue(payload, r.Header.Get("X-Amzn-Trace-Id"), string(clientContext), false)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "ServiceException", err.Error())
		return
	}
	w.Header().Set("X-Amzn-RequestId", inv.id)
	if kind == "Event" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	resp, err := inv.await(r.Context())
	if err != nil {
		if errors.Is(err, ErrClosed) {
			writeError(w, http.StatusServiceUnavailable, "ServiceException", err.Error())
		}
		return // the caller left
	}
	h := w.Header()
	h.Set("X-Amz-Executed-Version", "$LATEST")
	if resp.FunctionError != "" {
		h.Set("X-Amz-Function-Error", resp.FunctionError)
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(resp.Payload)
}

// writeError answers with Lambda's error document.
func writeError(w http.ResponseWriter, status int, errorType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorDocument(errorType, msg))
}

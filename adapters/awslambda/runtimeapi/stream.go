package runtimeapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// MaxStreamedPayload is the largest streamed response, as on Lambda:
// 200 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html).
const MaxStreamedPayload = 200 << 20

// Stream is the response of a streaming invocation, as Lambda's
// InvokeWithResponseStream (the API behind a function URL in
// RESPONSE_STREAM mode) passes it on: the runtime's bytes as it posts them.
type Stream struct {
	RequestID string
	// ContentType is the Content-Type the runtime posted its response
	// with: application/vnd.awslambda.http-integration-response for a
	// function URL's HTTP response (a JSON prelude, eight null bytes, the
	// body), which aws-lambda-go's events.LambdaFunctionURLStreamingResponse
	// writes.
	ContentType string
	// FunctionError is "Unhandled" when the invocation failed before its
	// response began; Body then reads the error document.
	FunctionError string
	// Body reads the response as the runtime sends it. A read fails with a
	// *StreamError when the invocation fails while it streams: the runtime
	// reports an error in the response's trailers, exits, outlives its
	// timeout or sends more than MaxStreamedPayload. Close it when done: the
	// rest of the response is then read and dropped, as Lambda does when
	// the caller goes away.
	Body io.ReadCloser
}

// StreamError is the failure of a streaming invocation after its response
// began.
type StreamError struct {
	// Payload is Lambda's error document, {"errorMessage": …, "errorType": …}.
	Payload []byte
}

func (e *StreamError) Error() string {
	return "runtimeapi: the streamed response failed: " + string(e.Payload)
}

// Type returns the error document's errorType.
func (e *StreamError) Type() string {
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(e.Payload, &doc)
	return doc.ErrorType
}

// InvokeStream runs one invocation whose response is streamed, as Lambda
// runs one invoked with InvokeWithResponseStream, and returns once the
// runtime begins its response (or fails first). Like Invoke, it returns an
// error only when ctx ends first or the server closes.
//
// A runtime streams by posting its response to
// /runtime/invocation/{id}/response as it produces it (chunked); the
// documentation's Lambda-Runtime-Function-Response-Mode: streaming header
// is accepted and not required, since aws-lambda-go sends none. An error
// it reports in the trailers Lambda-Runtime-Function-Error-Type and
// Lambda-Runtime-Function-Error-Body (base64 of the error document), as
// aws-lambda-go does when reading its response fails, fails the stream.
func (s *Server) InvokeStream(ctx context.Context, payload []byte) (*Stream, error) {
	inv, err := s.enqueue(payload, "", "", true)
	if err != nil {
		return nil, err
	}
	o, err := inv.outcome(ctx)
	switch {
	case err != nil:
		return nil, err
	case o.err != nil:
		return nil, o.err
	case o.stream != nil:
		return o.stream, nil
	}
	return &Stream{
		RequestID: o.resp.RequestID, ContentType: "application/json", FunctionError: o.resp.FunctionError,
		Body: io.NopCloser(bytes.NewReader(o.resp.Payload)),
	}, nil
}

// streamingCurrent returns the current invocation when it is id and
// streams its response.
func (s *Server) streamingCurrent(id string) *invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv := s.current; inv != nil && inv.id == id && inv.streaming {
		return inv
	}
	return nil
}

// stream passes the runtime's response to the streaming invocation inv as
// it arrives. The invocation stays current, under its deadline, until the
// response ends.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, inv *invocation) {
	pr, pw := io.Pipe()
	s.mu.Lock()
	if s.current != inv { // it timed out meanwhile
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+strconv.Quote(inv.id)+" is in progress")
		return
	}
	inv.pipe = pw
	s.mu.Unlock()
	inv.result <- outcome{stream: &Stream{
		RequestID: inv.id, ContentType: r.Header.Get("Content-Type"), Body: &streamBody{pr},
	}}

	n, err := io.Copy(countingWriter{pw, &inv.streamed}, io.LimitReader(r.Body, MaxStreamedPayload+1))
	if errors.Is(err, io.ErrClosedPipe) {
		// The caller went away, or the invocation failed (timed out):
		// read the rest, as Lambda does, so that the runtime finishes.
		m, _ := io.Copy(io.Discard, io.LimitReader(r.Body, MaxStreamedPayload+1-n))
		n, err = n+m, nil
	}
	var resp Response
	switch {
	case err != nil:
		// The runtime's request broke off: it exited, which the
		// supervisor reports, or it gave up.
		resp = errorResponse("Runtime.ExitError", "the runtime's response broke off: "+err.Error())
	case n > MaxStreamedPayload:
		resp = errorResponse("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxStreamedPayload)+" bytes).")
	case r.Trailer.Get(headerErrorType) != "":
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(headerErrorBody))
		resp = functionError(r.Trailer.Get(headerErrorType), doc)
	}
	s.mu.Lock()
	mine := s.current == inv
	if mine {
		s.current = nil
		s.broadcast()
	}
	s.mu.Unlock()
	if mine {
		s.finish(inv, resp, nil)
	}
	if n > MaxStreamedPayload {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the streamed response is over "+strconv.Itoa(MaxStreamedPayload)+" bytes")
		return
	}
	writeAccepted(w)
}

// streamBody is a Stream's Body: closing it lets the rest of the response
// be dropped.
type streamBody struct{ pr *io.PipeReader }

func (b *streamBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *streamBody) Close() error { return b.pr.Close() }

// countingWriter counts what it writes into *n, which the invocation's
// log line reports.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

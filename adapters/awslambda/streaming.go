package awslambda

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/core"
)

// InvokeStream handles one invocation as Invoke does, in the form of
// aws-lambda-go's streaming handlers: a function that returns an
// io.Reader, whose bytes the runtime loop posts to the Runtime API as it
// reads them (chunked), which Lambda passes on to the caller of a
// streaming invocation as they arrive.
//
// A function URL's request is answered with Lambda's streaming HTTP
// response (events.LambdaFunctionURLStreamingResponse, content type
// application/vnd.awslambda.http-integration-response): a JSON prelude of
// the status, the headers and the cookies, eight null bytes, then the body
// as the handler writes it. The prelude goes once the handler flushes, has
// written more than a net/http server buffers (4 KB), or returns; what it
// writes after that goes at each flush or each 4 KB. Any other payload
// (an API Gateway request, an event) gets Invoke's reply, as a reader.
//
// Run serves InvokeStream instead of Invoke when the app declares
// core.App.StreamResponses and the bootstrap serves its HTTP routes:
// polyfn build then gives the routes' unit a function URL in
// RESPONSE_STREAM mode, through which Lambda invokes it with
// InvokeWithResponseStream.
//
// The reader is an io.Closer, as aws-lambda-go expects of a response that
// holds resources: Close ends the invocation's context and waits for the
// handler to return. A handler that fails after the prelude went cannot
// change its status; its response ends where it stopped.
func (h *Handler) InvokeStream(ctx context.Context, payload json.RawMessage) (io.Reader, error) {
	start := time.Now()
	p, s, err := probe(payload)
	if err != nil {
		return nil, h.functionError(err)
	}
	if s == shapeFunctionURL && h.unit.function == nil {
		return h.stream(ctx, payload, start, p, s)
	}
	reply, err := h.invokeProbed(ctx, payload, start, p, s)
	if err != nil {
		return nil, err
	}
	return &bufferedReply{bytes.NewReader(reply)}, nil
}

// entry is what Run gives aws-lambda-go's runtime loop: InvokeStream for
// a bootstrap that serves the HTTP routes of an app that streams its
// responses, the Handler itself otherwise.
func (h *Handler) entry(app *core.App) any {
	if app.StreamsResponses() && h.unit.function == nil {
		return h.InvokeStream
	}
	return h
}

// bufferedReply is a buffered reply returned as a reader. It is no JSON
// value, so that aws-lambda-go posts its bytes as they are.
type bufferedReply struct{ *bytes.Reader }

func (*bufferedReply) MarshalJSON() ([]byte, error) { return nil, errNotJSON }

var errNotJSON = errors.New("awslambda: a reply is posted as it is, not encoded as JSON")

// stream serves a function URL's request p, handing the response to the
// caller once its status and header are fixed.
func (h *Handler) stream(ctx context.Context, payload []byte, start time.Time, p *payload, s shape) (io.Reader, error) {
	ctx, cancel := h.invocation(ctx, payload, start, p, s, nil)
	r, err := p.request(ctx, s)
	if err != nil {
		cancel()
		return nil, h.functionError(err)
	}
	pr, pw := io.Pipe()
	w := &streamWriter{header: make(http.Header), pw: pw, ready: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			// The app's handler contains panics (core.Recover); one that
			// escapes it ends the response as a failed stream.
			if v := recover(); v != nil {
				w.abort(h.functionError(core.Errorf(core.Internal, "awslambda: the HTTP handler panicked: %v", v)))
			}
		}()
		h.http.ServeHTTP(w, r)
		w.finish()
	}()
	<-w.ready
	if w.prelude == nil { // the handler failed before it wrote anything
		cancel()
		<-done
		return nil, w.err
	}
	w.prelude.Body = pr
	return &streamReply{LambdaFunctionURLStreamingResponse: w.prelude, body: pr, w: w, cancel: cancel, done: done}, nil
}

// streamReply is a streamed HTTP response: aws-lambda-go reads the prelude
// and the body through the embedded type, takes its content type, and
// closes it once it posted the response.
type streamReply struct {
	*events.LambdaFunctionURLStreamingResponse
	body   *io.PipeReader
	w      *streamWriter
	cancel context.CancelFunc
	done   chan struct{}
}

// Close ends the invocation: a handler still writing (the Runtime API
// stopped reading) sees its writes fail and its context end.
func (r *streamReply) Close() error {
	_ = r.body.CloseWithError(errStreamClosed)
	r.cancel()
	<-r.done
	if r.w.bw != nil { // the handler is done with it
		r.w.bw.Reset(nil)
		bufWriters.Put(r.w.bw)
		r.w.bw = nil
	}
	return nil
}

// bufWriters are the streamWriters' 4 KB buffers.
var bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, streamBuffer) }}

var errStreamClosed = errors.New("awslambda: the invocation's response stream is closed")

// streamBuffer is how much a handler writes before the prelude goes out
// unflushed, and how much is sent at once after it: a net/http server's
// response buffer.
const streamBuffer = 4 << 10

// streamWriter is the http.ResponseWriter of a streamed response. Until the
// status and header are sent it buffers like the buffered writer; then it
// writes through a 4 KB buffer into the pipe that aws-lambda-go reads.
type streamWriter struct {
	header http.Header
	status int
	buf    []byte        // the body written before the prelude went
	bw     *bufio.Writer // onto pw, once the prelude went
	pw     *io.PipeWriter
	// prelude is the status, header and cookies as sent, nil until then
	// and when the handler failed first (err).
	prelude *events.LambdaFunctionURLStreamingResponse
	err     error
	ready   chan struct{} // closed once prelude or err is set
}

var (
	_ http.Flusher                    = (*streamWriter)(nil)
	_ interface{ FlushError() error } = (*streamWriter)(nil)
)

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) {
	if w.status != 0 || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		return
	}
	w.status = code
}

func (w *streamWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.bw == nil {
		if len(w.buf)+len(b) <= streamBuffer {
			w.buf = append(w.buf, b...)
			return len(b), nil
		}
		if err := w.send(b); err != nil {
			return 0, err
		}
	}
	return w.bw.Write(b)
}

// Flush sends what the handler wrote; http.NewResponseController(w).Flush
// calls FlushError.
func (w *streamWriter) Flush() { _ = w.FlushError() }

// FlushError sends what the handler wrote, the prelude first if it has not
// gone yet. It fails once the response stream is closed.
func (w *streamWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.bw == nil {
		if err := w.send(nil); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// send fixes the status and header, hands the prelude to the caller of
// stream, and queues what was buffered; next is what the handler is
// writing, if anything.
func (w *streamWriter) send(next []byte) error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if len(w.buf)+len(next) > 0 && !hasContentType(w.header) {
		// What a net/http server does for a handler that sets no type:
		// sniff the first 512 bytes.
		sniff := append(w.buf[:len(w.buf):len(w.buf)], next[:min(len(next), 512)]...)
		w.header.Set("Content-Type", http.DetectContentType(sniff))
	}
	h := w.header.Clone()
	cookies := h["Set-Cookie"]
	delete(h, "Set-Cookie")
	w.prelude = &events.LambdaFunctionURLStreamingResponse{StatusCode: w.status, Headers: joinHeader(h), Cookies: cookies}
	w.bw = bufWriters.Get().(*bufio.Writer)
	w.bw.Reset(w.pw)
	close(w.ready)
	_, err := w.bw.Write(w.buf)
	w.buf = nil
	return err
}

// finish ends the response once the handler returned.
func (w *streamWriter) finish() {
	if w.bw == nil {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		if err := w.send(nil); err != nil {
			return
		}
	}
	if err := w.bw.Flush(); err != nil {
		return
	}
	_ = w.pw.Close()
}

// abort fails the response with the function error err: before the
// prelude, the invocation; after it, the stream, which aws-lambda-go
// reports to Lambda in the response's trailers.
func (w *streamWriter) abort(err error) {
	if w.bw == nil {
		w.err = err
		close(w.ready)
		return
	}
	_ = w.pw.CloseWithError(err)
}

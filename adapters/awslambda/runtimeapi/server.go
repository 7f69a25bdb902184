// Package runtimeapi is a local AWS Lambda: it runs a custom runtime's
// bootstrap executable against the documented Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) and
// accepts invocations the way the Lambda Invoke API and AWS's runtime
// interface emulator do, on POST /2015-03-31/functions/function/invocations.
//
// Like Lambda, a Server hands the runtime one invocation at a time with its
// request id, deadline, function ARN and X-Ray trace header; fails an
// invocation that outlives its timeout and replaces the runtime process;
// restarts a runtime that exits; and stops it with SIGTERM (when it
// registered an extension, as aws-lambda-go does to receive it) and SIGKILL
// 500 ms later. It uses the standard library only.
package runtimeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. A nil *Options means the defaults.
type Options struct {
	// Bootstrap is the runtime executable to run and supervise. Empty runs
	// none: start the runtime yourself with AWS_LAMBDA_RUNTIME_API set to
	// the server's Addr (under a debugger, say).
	Bootstrap string
	// Args are the bootstrap's arguments.
	Args []string
	// Env holds extra KEY=value variables for the bootstrap. It starts with
	// this process's environment (so that credentials and PATH reach it, as
	// with AWS's emulator), then the Lambda variables, then Env.
	Env []string
	// FunctionName is the function's name; default "function".
	FunctionName string
	// Timeout is the function's timeout; default 3s, Lambda's default.
	Timeout time.Duration
	// MemoryMB is the memory size the function is told; default 128.
	MemoryMB int
	// Region is the region in the function's ARN and environment; default
	// us-east-1.
	Region string
	// Stdout and Stderr receive the bootstrap's output; default this
	// process's.
	Stdout, Stderr io.Writer
	// Logger receives one record per invocation and per runtime start and
	// exit; default slog.Default().
	Logger *slog.Logger
}

// MaxPayload is the largest synchronous invocation request and response,
// as on Lambda: 6 MB.
const MaxPayload = 6 << 20

// Response is the outcome of one invocation.
type Response struct {
	RequestID string
	// Payload is the function's response or, for a function error, the
	// error document {"errorMessage": …, "errorType": …}.
	Payload []byte
	// FunctionError is "Unhandled" when the invocation failed, as in the
	// Invoke API's X-Amz-Function-Error header, and "" otherwise.
	FunctionError string
}

// ErrClosed is returned for invocations the server can no longer run.
var ErrClosed = errors.New("runtimeapi: the server is closed")

// Server is a local Lambda. Start one with Start; stop it with Close.
type Server struct {
	opts Options
	log  *slog.Logger
	arn  string
	ln   net.Listener
	srv  *http.Server

	mu      sync.Mutex
	pending []*invocation // queued, not yet handed to the runtime
	current *invocation   // handed to the runtime, not yet answered
	changed chan struct{} // closed and replaced whenever the state changes
	closed  bool
	proc    *process // the running bootstrap, or nil

	supervisor sync.WaitGroup
}

// invocation is one invocation from its queueing to its result.
type invocation struct {
	id            string
	payload       []byte
	trace         string
	clientContext string
	queued        time.Time
	timer         *time.Timer // the deadline, once handed out
	result        chan outcome
	// streaming is set for InvokeStream's invocations; pipe, set under the
	// server's mu once the runtime began its response, carries the
	// response to the caller, and streamed counts its bytes.
	streaming bool
	pipe      *io.PipeWriter
	streamed  atomic.Int64
}

// outcome is an invocation's result: its response, or for a streaming
// invocation whose response began, the stream.
type outcome struct {
	resp   Response
	stream *Stream
	err    error
}

// Start listens on addr ("127.0.0.1:0" picks a free port), starts serving
// the Runtime API and the invoke endpoint, and starts the bootstrap, if any.
// The server's requests carry ctx's values; Close, not ctx, stops it.
func Start(ctx context.Context, addr string, opts *Options) (*Server, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.FunctionName == "" {
		o.FunctionName = "function"
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 128
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: %w", err)
	}
	s := &Server{
		opts:    o,
		log:     o.Logger,
		arn:     "arn:aws:lambda:" + o.Region + ":000000000000:function:" + o.FunctionName,
		ln:      ln,
		changed: make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { _ = s.srv.Serve(ln) }() // Serve returns when Close shuts the server down
	if o.Bootstrap != "" {
		p, err := s.spawn()
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		s.supervisor.Add(1)
		go s.supervise(p)
	}
	return s, nil
}

// Addr returns the Runtime API's address, host:port: the runtime's
// AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ExtensionRegistered reports whether the running bootstrap registered an
// extension, as aws-lambda-go does to be sent SIGTERM before it is stopped;
// without one, Lambda (and Close) stop it with SIGKILL alone.
func (s *Server) ExtensionRegistered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.extension
}

// InvokeURL returns the URL invocations are posted to.
func (s *Server) InvokeURL() string {
	return "http://" + s.Addr() + "/2015-03-31/functions/function/invocations"
}

// Invoke runs one invocation with payload and returns its outcome. It
// returns an error only when ctx ends first (the invocation still runs, as
// on Lambda) or the server closes.
func (s *Server) Invoke(ctx context.Context, payload []byte) (Response, error) {
	inv, err := s.enqueue(payload, "", "", false)
	if err != nil {
		return Response{}, err
	}
	return inv.await(ctx)
}

func (inv *invocation) await(ctx context.Context) (Response, error) {
	o, err := inv.outcome(ctx)
	if err != nil {
		return Response{}, err
	}
	return o.resp, o.err
}

func (inv *invocation) outcome(ctx context.Context) (outcome, error) {
	select {
	case o := <-inv.result:
		return o, nil
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	}
}

// enqueue queues an invocation; trace and clientContext are the caller's
// X-Ray header and client context, or "";
// streaming marks an invocation whose response is streamed (InvokeStream).
func (s *Server) enqueue(payload []byte, trace, clientContext string, streaming bool) (*invocation, error) {
	if trace == "" {
		trace = newTrace()
	}
	inv := &invocation{
		id: newRequestID(), payload: payload, trace: trace, clientContext: clientContext,
		queued: time.Now(), result: make(chan outcome, 1), streaming: streaming,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.pending = append(s.pending, inv)
	s.broadcast()
	return inv, nil
}

// broadcast wakes everyone waiting for a change. s.mu is held.
func (s *Server) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// finish delivers the outcome of inv, which the caller has taken out of the
// queue or the current slot under s.mu, so that it finishes exactly once.
func (s *Server) finish(inv *invocation, resp Response, err error) {
	if inv.timer != nil {
		inv.timer.Stop()
	}
	resp.RequestID = inv.id
	n := int64(len(resp.Payload))
	if inv.pipe != nil {
		// The response was streaming: its reader learns how it ended.
		n = inv.streamed.Load()
		switch {
		case err != nil:
			_ = inv.pipe.CloseWithError(err)
		case resp.FunctionError != "":
			_ = inv.pipe.CloseWithError(&StreamError{Payload: resp.Payload})
		default:
			_ = inv.pipe.Close()
		}
	} else {
		inv.result <- outcome{resp: resp, err: err}
	}
	attrs := []any{slog.String("request_id", inv.id), slog.Duration("duration", time.Since(inv.queued))}
	switch {
	case err != nil:
		s.log.Warn("invocation abandoned", append(attrs, slog.Any("error", err))...)
	case resp.FunctionError != "":
		s.log.Warn("invocation failed", append(attrs, slog.String("error", string(resp.Payload)))...)
	default:
		s.log.Info("invocation done", append(attrs, slog.Int64("bytes", n), slog.Bool("streamed", inv.pipe != nil))...)
	}
}

// take waits for the next invocation and makes it current, with its
// deadline. It gives up when ctx ends, when gone (the asking process's exit)
// closes, or when the server closes; a process the server runs is then
// stopped by signals, so its poll is left waiting until it exits.
func (s *Server) take(ctx context.Context, gone <-chan struct{}) (*invocation, time.Time, error) {
	s.mu.Lock()
	for {
		switch {
		case s.closed:
			s.mu.Unlock()
			if gone != nil {
				// Lambda never answers the poll of a runtime it is
				// stopping: it sends SIGTERM, which Close does.
				select {
				case <-gone:
				case <-ctx.Done():
				}
			}
			return nil, time.Time{}, ErrClosed
		case ctx.Err() != nil:
			s.mu.Unlock()
			return nil, time.Time{}, ctx.Err()
		case s.current == nil && len(s.pending) > 0:
			inv := s.pending[0]
			s.pending = s.pending[1:]
			s.current = inv
			deadline := time.Now().Add(s.opts.Timeout)
			inv.timer = time.AfterFunc(s.opts.Timeout, func() { s.timeOut(inv) })
			s.mu.Unlock()
			return inv, deadline, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-gone:
			return nil, time.Time{}, errors.New("runtimeapi: the runtime exited")
		case <-ctx.Done():
		}
		s.mu.Lock()
	}
}

// timeOut fails inv when it is still running at its deadline and, as Lambda
// does, replaces the runtime process, which may be stuck.
func (s *Server) timeOut(inv *invocation) {
	s.mu.Lock()
	if s.current != inv {
		s.mu.Unlock()
		return
	}
	s.current = nil
	p := s.proc
	s.broadcast()
	s.mu.Unlock()
	msg := fmt.Sprintf("Task timed out after %.2f seconds", s.opts.Timeout.Seconds())
	s.finish(inv, errorResponse("Sandbox.Timedout", msg), nil)
	if p != nil {
		p.kill()
	}
}

// Close stops the bootstrap, fails the invocations not yet answered, and
// stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	p := s.proc
	s.broadcast()
	s.mu.Unlock()
	if p != nil {
		s.stopProcess(p)
	}
	s.supervisor.Wait()

	s.mu.Lock()
	left := s.pending
	if s.current != nil {
		left = append(left, s.current)
	}
	s.pending, s.current = nil, nil
	s.mu.Unlock()
	for _, inv := range left {
		s.finish(inv, Response{}, ErrClosed)
	}
	// Let the failed invocations' answers go out; a runtime the server did
	// not start may still hold polls open, which Close then cuts.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// errorResponse is a function error with Lambda's error document.
func errorResponse(errorType, msg string) Response {
	return Response{Payload: errorDocument(errorType, msg), FunctionError: "Unhandled"}
}

func errorDocument(errorType, msg string) []byte {
	return []byte(`{"errorMessage":` + strconv.Quote(msg) + `,"errorType":` + strconv.Quote(errorType) + `}`)
}

// newRequestID returns a random (version 4) UUID, the form of Lambda's
// request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTrace returns an X-Ray trace header for an invocation that came
// without one: a new root, not sampled.
func newTrace() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}

package core

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// Observer is told about the work core runs for adapters: every call of an
// event handler (Invoke), every HTTP request an App serves inside an
// invocation (HTTPHandler), every batch (ProcessBatch), and the end of every
// invocation (the cancel function of WithInvocation). Metrics exporters
// implement it (telemetry); install one with SetObserver at start-up.
// Its methods are called on the invocation's goroutine and must be quick.
type Observer interface {
	// Handled is called after a handler ran: an event handler, or an App's
	// HTTP handler for a request whose context carries an invocation.
	Handled(ctx context.Context, h Handled)
	// Batch is called after ProcessBatch with the batch's size and how many
	// of its events failed (including those not attempted).
	Batch(ctx context.Context, size, failed int)
	// Ended is called once when an invocation ends, after its reply was
	// made: when the cancel function WithInvocation returned is first called.
	Ended(ctx context.Context, inv *Invocation)
}

// Starter is implemented by an Observer that also begins work where core
// begins it: a tracer, which starts a span and returns the context carrying
// it. WithInvocation calls StartInvocation, and the invocation runs with the
// context it returns, until Ended; Invoke calls StartEvent before an event's
// handler runs, and the handler runs with the context it returns, until
// Handled. Like the Observer's other methods, they must be quick.
type Starter interface {
	StartInvocation(ctx context.Context, inv *Invocation) context.Context
	StartEvent(ctx context.Context, e Event) context.Context
}

// Observers returns an Observer that tells each of os in turn, and starts
// work (Starter) with each of them that implements it, in order. Nil
// observers are left out; with none left it returns nil.
func Observers(os ...Observer) Observer {
	var m multiObserver
	for _, o := range os {
		if o != nil {
			m = append(m, o)
		}
	}
	switch len(m) {
	case 0:
		return nil
	case 1:
		return m[0]
	}
	return m
}

type multiObserver []Observer

var _ Starter = multiObserver(nil)

func (m multiObserver) Handled(ctx context.Context, h Handled) {
	for _, o := range m {
		o.Handled(ctx, h)
	}
}

func (m multiObserver) Batch(ctx context.Context, size, failed int) {
	for _, o := range m {
		o.Batch(ctx, size, failed)
	}
}

func (m multiObserver) Ended(ctx context.Context, inv *Invocation) {
	for _, o := range m {
		o.Ended(ctx, inv)
	}
}

func (m multiObserver) StartInvocation(ctx context.Context, inv *Invocation) context.Context {
	for _, o := range m {
		if s, ok := o.(Starter); ok {
			ctx = s.StartInvocation(ctx, inv)
		}
	}
	return ctx
}

func (m multiObserver) StartEvent(ctx context.Context, e Event) context.Context {
	for _, o := range m {
		if s, ok := o.(Starter); ok {
			ctx = s.StartEvent(ctx, e)
		}
	}
	return ctx
}

// Handled describes one run of a handler.
type Handled struct {
	// Kind is the event's kind, or "http" for an HTTP request.
	Kind Kind
	// Duration is how long the handler ran.
	Duration time.Duration
	// Err is the event handler's error, or for an HTTP request an error
	// with the code of a 4xx or 5xx status (see CodeOfStatus); nil on
	// success.
	Err error
	// Status is the HTTP status of a request; 0 for an event.
	Status int
}

// KindHTTP is the Kind of Handled for an HTTP request.
const KindHTTP Kind = "http"

type observerBox struct{ o Observer }

var observer atomic.Pointer[observerBox]

// SetObserver installs o as the process's observer; nil removes it. Call it
// at start-up, before invocations run.
func SetObserver(o Observer) {
	if o == nil {
		observer.Store(nil)
		return
	}
	observer.Store(&observerBox{o})
}

func currentObserver() Observer {
	if b := observer.Load(); b != nil {
		return b.o
	}
	return nil
}

// invocationEnd is what ending an invocation needs when an observer is
// installed: the invocation's context and its cancel function, and whether
// the observer has heard of the end.
type invocationEnd struct {
	o      Observer
	ctx    context.Context
	cancel context.CancelFunc
	done   atomic.Bool
}

// ended is the cancel function WithInvocation returns when an observer is
// installed: it cancels the invocation's context and, the first time, tells
// the observer, with the invocation's values but not its cancellation, so
// that an exporter's flush is not cut short by the end it reports.
func (c *invocationCtx) ended() {
	c.end.cancel()
	if c.end.done.CompareAndSwap(false, true) {
		c.end.o.Ended(context.WithoutCancel(c.end.ctx), c.inv)
	}
}

// CodeOfStatus returns the code whose HTTP status is status (the inverse of
// HTTPStatus), for a status of 400 or more: Internal for an unknown 5xx,
// InvalidArgument for an unknown 4xx. ok is false below 400.
func CodeOfStatus(status int) (code Code, ok bool) {
	if status < 400 {
		return 0, false
	}
	for _, c := range Codes() {
		if c != Unknown && statusOf[c] == status {
			return c, true
		}
	}
	if status >= 500 {
		return Internal, true
	}
	return InvalidArgument, true
}

// observeHTTP reports each request that runs inside an invocation to the
// observer, with its status. A request without an invocation in its context
// (a runtime's own endpoint, a front router that sets the invocation further
// in) is not reported, so nested Apps count a request once.
func observeHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := currentObserver()
		if o == nil {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := InvocationFrom(r.Context()); !ok {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r)
		h := Handled{Kind: KindHTTP, Duration: time.Since(start), Status: sw.status}
		if h.Status == 0 {
			h.Status = http.StatusOK
		}
		if c, failed := CodeOfStatus(h.Status); failed {
			h.Err = &Error{Code: c, msg: http.StatusText(h.Status)}
		}
		o.Handled(r.Context(), h)
	})
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

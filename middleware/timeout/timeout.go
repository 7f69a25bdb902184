// Package timeout bounds HTTP handlers by the invocation's deadline, so a
// function answers with a clean 504 problem before its platform kills it
// mid-response.
package timeout

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/polyfn/polyfn/core"
)

// Options configure Middleware.
type Options struct {
	// Margin is kept back from the deadline to write the answer; default 250ms.
	Margin time.Duration
	// Max bounds every request, deadline or not; zero means no bound.
	Max time.Duration
}

// Middleware runs next with a context that ends Margin before the request
// context's deadline (the invocation's, set by the adapter), or after Max.
// If next has not answered by then, the client gets 504 and whatever next
// writes afterwards is discarded; next should watch its context and stop.
// Requests without a deadline or Max pass through untouched.
func Middleware(o Options) func(http.Handler) http.Handler {
	if o.Margin <= 0 {
		o.Margin = 250 * time.Millisecond
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deadline, ok := r.Context().Deadline()
			if ok {
				deadline = deadline.Add(-o.Margin)
			}
			if o.Max > 0 && (!ok || time.Now().Add(o.Max).Before(deadline)) {
				deadline, ok = time.Now().Add(o.Max), true
			}
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			if !time.Now().Before(deadline) {
				// Less than the margin is left: answer now, without
				// starting a handler that could only run out of time (or,
				// finishing first, race the deadline for the answer).
				core.WriteError(w, r, core.Errorf(core.DeadlineExceeded, "the request took too long"))
				return
			}
			ctx, cancel := context.WithDeadline(r.Context(), deadline)
			defer cancel()
			bw := &bufferedWriter{header: http.Header{}}
			done := make(chan struct{})
			panicked := make(chan any, 1)
			go func() {
				defer func() {
					if v := recover(); v != nil {
						panicked <- v
					}
					close(done)
				}()
				next.ServeHTTP(bw, r.WithContext(ctx))
			}()
			select {
			case <-done:
				select {
				case v := <-panicked:
					panic(v) // for the recovery middleware outside
				default:
				}
				bw.flushTo(w)
			case <-ctx.Done():
				bw.abandon()
				core.WriteError(w, r, core.Errorf(core.DeadlineExceeded, "the request took too long"))
			}
		})
	}
}

// bufferedWriter holds the handler's response until it finishes in time.
type bufferedWriter struct {
	mu        sync.Mutex
	header    http.Header
	status    int
	body      bytes.Buffer
	abandoned bool
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.abandoned {
		return 0, http.ErrHandlerTimeout
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) abandon() {
	b.mu.Lock()
	b.abandoned = true
	b.mu.Unlock()
}

func (b *bufferedWriter) flushTo(w http.ResponseWriter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, vs := range b.header {
		w.Header()[k] = vs
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

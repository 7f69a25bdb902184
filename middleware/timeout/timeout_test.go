package timeout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/timeout"
)

func TestTimeoutFromInvocationDeadline(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
			w.WriteHeader(200)
		case <-r.Context().Done():
			w.WriteHeader(499) // discarded: the middleware answered
		}
	})
	fast := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Done", "yes")
		w.WriteHeader(201)
		w.Write([]byte("made"))
	})
	mw := timeout.Middleware(timeout.Options{Margin: 50 * time.Millisecond})
	request := func(h http.Handler, budget time.Duration) *httptest.ResponseRecorder {
		ctx, cancel := core.WithInvocation(context.Background(), &core.Invocation{ID: "i", Deadline: time.Now().Add(budget)})
		defer cancel()
		rec := httptest.NewRecorder()
		mw(h).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		return rec
	}
	start := time.Now()
	rec := request(slow, 200*time.Millisecond)
	if rec.Code != 504 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("slow handler: %d %s, want a 504 problem", rec.Code, rec.Body)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("answered after %v: the deadline was not applied", took)
	}
	if rec := request(fast, time.Second); rec.Code != 201 || rec.Body.String() != "made" || rec.Header().Get("X-Done") != "yes" {
		t.Errorf("fast handler: %d %q", rec.Code, rec.Body)
	}
	// No deadline, no Max: untouched.
	rec = httptest.NewRecorder()
	mw(fast).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 201 {
		t.Errorf("without a deadline: %d", rec.Code)
	}
}

func TestTimeoutPanicsPropagate(t *testing.T) {
	h := core.Recover(timeout.Middleware(timeout.Options{Max: time.Second})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 {
		t.Errorf("panic: %d, want the recovery middleware's 500", rec.Code)
	}
}

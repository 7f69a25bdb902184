package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestCodeOf(t *testing.T) {
	base := errors.New("disk on fire")
	tests := []struct {
		name string
		err  error
		want core.Code
	}{
		{"plain error", base, core.Unknown},
		{"coded", core.Errorf(core.NotFound, "user %q", "u1"), core.NotFound},
		{"coded, wrapped by fmt", fmt.Errorf("loading: %w", core.Errorf(core.PermissionDenied, "no")), core.PermissionDenied},
		{"outermost code wins", core.Errorf(core.Unavailable, "store: %w", core.Errorf(core.NotFound, "x")), core.Unavailable},
		{"Wrap", core.Wrap(core.Aborted, base), core.Aborted},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), core.DeadlineExceeded},
		{"canceled", context.Canceled, core.Canceled},
		{"validation", &core.ValidationError{Violations: []core.Violation{{Pointer: "/name", Detail: "required"}}}, core.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if core.Wrap(core.Internal, nil) != nil {
		t.Error("Wrap(code, nil) != nil")
	}
	wrapped := core.Errorf(core.Unavailable, "store: %w", base)
	if !errors.Is(wrapped, base) {
		t.Error("Errorf with %w does not wrap its operand")
	}
}

// TestHTTPStatusTable proves the status table covers every code with the
// documented status.
func TestHTTPStatusTable(t *testing.T) {
	want := map[core.Code]int{
		core.Unknown: 500, core.InvalidArgument: 400, core.Unauthenticated: 401, core.PermissionDenied: 403,
		core.NotFound: 404, core.AlreadyExists: 409, core.Aborted: 409, core.FailedPrecondition: 422,
		core.TooLarge: 413, core.UnsupportedMediaType: 415, core.ResourceExhausted: 429, core.Canceled: 499,
		core.DeadlineExceeded: 504, core.Unimplemented: 501, core.Unavailable: 503, core.Internal: 500,
	}
	for _, c := range core.Codes() {
		w, ok := want[c]
		if !ok {
			t.Errorf("code %v has no documented status in this test", c)
			continue
		}
		if got := core.HTTPStatus(c); got != w {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c, got, w)
		}
		if strings.HasPrefix(c.String(), "code(") {
			t.Errorf("code %d has no name", int(c))
		}
	}
	if got := core.HTTPStatus(core.Code(999)); got != 500 {
		t.Errorf("HTTPStatus(unknown code) = %d, want 500", got)
	}
}

func TestWriteErrorHidesInternalText(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantDetail string
	}{
		{"client error shows its message", core.Errorf(core.NotFound, "user %q not found", "u1"), 404, `user "u1" not found`},
		{"internal error is generic", core.Errorf(core.Internal, "db password=hunter2 rejected"), 500, ""},
		{"uncoded error is generic", errors.New("dial tcp 10.0.0.7:5432: refused"), 500, ""},
		{"unavailable is generic", core.Errorf(core.Unavailable, "s3: SlowDown at bucket-internal"), 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			core.WriteError(rec, httptest.NewRequest("GET", "/users/u1", nil), tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			var p core.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			want := core.Problem{
				Type: core.ProblemTypePrefix + core.CodeOf(tt.err).String(), Title: http.StatusText(tt.wantStatus),
				Status: tt.wantStatus, Detail: tt.wantDetail, Instance: "/users/u1",
			}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidationProblemListsViolations(t *testing.T) {
	err := &core.ValidationError{Violations: []core.Violation{
		{Pointer: "/name", Detail: "is required"},
		{Pointer: "/email", Detail: "is not an email address"},
	}}
	p := core.ProblemFor(fmt.Errorf("users: %w", err), "/users")
	if p.Status != 400 || len(p.Errors) != 2 || p.Errors[1].Pointer != "/email" {
		t.Errorf("ProblemFor(validation) = %+v, want 400 with both violations", p)
	}
}

func TestRecoverContainsPanics(t *testing.T) {
	calls := 0
	h := core.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path == "/boom" {
			panic("secret internal state")
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || strings.Contains(string(body), "secret") {
		t.Errorf("panic answered %d %q, want a generic 500", resp.StatusCode, body)
	}
	// The server keeps serving.
	resp, err = http.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || calls != 2 {
		t.Errorf("after a panic: status %d after %d calls, want 418 after 2", resp.StatusCode, calls)
	}
}

func TestInvokeContainsPanics(t *testing.T) {
	h := core.HandlerFunc(func(ctx context.Context, e core.Event) error { panic("boom: secret") })
	e := mustEvent(t, core.TypeTimer, "t1", "s", &core.Timer{Name: "n"})
	err := core.Invoke(t.Context(), h, e)
	if core.CodeOf(err) != core.Internal || strings.Contains(err.Error(), "secret") {
		t.Errorf("Invoke(panicking handler) = %v, want a generic Internal error", err)
	}
}

func TestChainOrder(t *testing.T) {
	var trace []string
	mw := func(name string) core.Middleware {
		return func(next core.Handler) core.Handler {
			return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
				trace = append(trace, name+">")
				err := next.HandleEvent(ctx, e)
				trace = append(trace, "<"+name)
				return err
			})
		}
	}
	h := core.Chain(core.HandlerFunc(func(context.Context, core.Event) error {
		trace = append(trace, "handler")
		return nil
	}), mw("outer"), mw("inner"))
	if err := h.HandleEvent(t.Context(), core.Event{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"outer>", "inner>", "handler", "<inner", "<outer"}
	if diff := cmp.Diff(want, trace); diff != "" {
		t.Errorf("call order (-want +got):\n%s", diff)
	}
}

func TestProcessBatch(t *testing.T) {
	events := make([]core.Event, 5)
	for i := range events {
		events[i] = mustEvent(t, core.TypeMessage, fmt.Sprintf("m%d", i), "q", &core.Message{ID: fmt.Sprintf("m%d", i), Body: []byte{byte('0' + i)}})
	}
	// m1 is malformed, m3 panics; the others succeed.
	var handled []string
	h := core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		handled = append(handled, e.ID())
		switch e.ID() {
		case "m1":
			return core.Errorf(core.InvalidArgument, "malformed")
		case "m3":
			panic("poison")
		}
		return nil
	})
	type result struct {
		Index int
		ID    string
		Code  core.Code
	}
	summarize := func(fs []core.Failure) []result {
		var out []result
		for _, f := range fs {
			out = append(out, result{f.Index, f.ID, core.CodeOf(f.Err)})
		}
		return out
	}

	t.Run("unordered: exactly the failed events", func(t *testing.T) {
		handled = nil
		got := summarize(core.ProcessBatch(t.Context(), h, events, nil))
		want := []result{{1, "m1", core.InvalidArgument}, {3, "m3", core.Internal}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		if len(handled) != 5 {
			t.Errorf("handled %v, want all 5", handled)
		}
	})
	t.Run("ordered: the first failure and everything after", func(t *testing.T) {
		handled = nil
		got := summarize(core.ProcessBatch(t.Context(), h, events, &core.BatchOptions{Ordered: true}))
		want := []result{{1, "m1", core.InvalidArgument}, {2, "m2", core.Aborted}, {3, "m3", core.Aborted}, {4, "m4", core.Aborted}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"m0", "m1"}, handled); diff != "" {
			t.Errorf("handled (-want +got):\n%s", diff)
		}
	})
	t.Run("canceled context: the rest are failed, not lost", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		handled = nil
		stopper := core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			handled = append(handled, e.ID())
			if e.ID() == "m1" {
				cancel()
			}
			return nil
		})
		got := summarize(core.ProcessBatch(ctx, stopper, events, nil))
		want := []result{{2, "m2", core.Aborted}, {3, "m3", core.Aborted}, {4, "m4", core.Aborted}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
	})
	t.Run("all succeed", func(t *testing.T) {
		ok := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
		if got := core.ProcessBatch(t.Context(), ok, events, nil); got != nil {
			t.Errorf("ProcessBatch = %v, want nil", got)
		}
	})
}

// TestErrorfWrapsEveryOperand: errors.Is and errors.As see each %w operand
// of an Errorf, one or several, and nothing when there is none.
func TestErrorfWrapsEveryOperand(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	tests := []struct {
		name    string
		err     error
		is, not []error
	}{
		{"none", core.Errorf(core.NotFound, "user %q", "ada"), nil, []error{errA}},
		{"one", core.Errorf(core.Unavailable, "store: %w", errA), []error{errA}, []error{errB}},
		{"two", core.Errorf(core.Aborted, "%w, then %w", errA, errB), []error{errA, errB}, nil},
		{"context", core.Errorf(core.Unknown, "op: %w and %w", errA, context.DeadlineExceeded), []error{errA, context.DeadlineExceeded}, []error{errB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, target)
				}
			}
			for _, target := range tt.not {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", tt.err, target)
				}
			}
		})
	}
	if got := core.CodeOf(core.Errorf(core.Aborted, "%w, then %w", errA, context.Canceled)); got != core.Aborted {
		t.Errorf("CodeOf: got %v, want the outer code Aborted", got)
	}
	if e := errors.Unwrap(core.Errorf(core.NotFound, "plain")); e != nil {
		t.Errorf("Unwrap of an Errorf without %%w: got %v, want nil", e)
	}
}

package core

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
)

// statusOf is the one table from Code to HTTP status. An HTTP function's
// response is the same on every cloud (each passes HTTP through), so the table
// lives in core; event adapters keep their own tables for retry behaviour.
var statusOf = map[Code]int{
	Unknown:              http.StatusInternalServerError,
	InvalidArgument:      http.StatusBadRequest,
	Unauthenticated:      http.StatusUnauthorized,
	PermissionDenied:     http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	AlreadyExists:        http.StatusConflict,
	Aborted:              http.StatusConflict,
	FailedPrecondition:   http.StatusUnprocessableEntity,
	TooLarge:             http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	ResourceExhausted:    http.StatusTooManyRequests,
	Canceled:             499, // client closed request (nginx's code); nobody is left to read it
	DeadlineExceeded:     http.StatusGatewayTimeout,
	Unimplemented:        http.StatusNotImplemented,
	Unavailable:          http.StatusServiceUnavailable,
	Internal:             http.StatusInternalServerError,
}

// HTTPStatus returns the HTTP status for code; an unknown code gives 500.
func HTTPStatus(code Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ProblemTypePrefix starts the RFC 9457 "type" URI of every problem that
// polyfn writes; the code's name follows it (urn:polyfn:problem:not-found).
const ProblemTypePrefix = "urn:polyfn:problem:"

// Problem is an RFC 9457 problem details object, served as
// application/problem+json.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists individual violations, for validation failures.
	Errors []Violation `json:"errors,omitempty"`
}

// Violation is one failed check of a request: where (a JSON pointer into the
// body, or a parameter name) and what.
type Violation struct {
	Pointer string `json:"pointer,omitempty"`
	Detail  string `json:"detail"`
}

// ValidationError is an InvalidArgument error that lists every violation.
// WriteError renders the list in the problem's "errors" member.
type ValidationError struct {
	Violations []Violation
}

// Error lists every violation: "invalid input: /name: is required; /email: …".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid input")
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if v.Pointer != "" {
			b.WriteString(v.Pointer + ": ")
		}
		b.WriteString(v.Detail)
	}
	return b.String()
}

// Unwrap lets CodeOf see InvalidArgument.
func (e *ValidationError) Unwrap() error { return &Error{Code: InvalidArgument, msg: "invalid input"} }

// ProblemFor builds the problem for err. For client-error codes the detail
// is the error's text (functions write those messages for their callers);
// for every other code the detail is generic, so internal text never leaks.
func ProblemFor(err error, instance string) Problem {
	code := CodeOf(err)
	status := HTTPStatus(code)
	p := Problem{
		Type:     ProblemTypePrefix + code.String(),
		Title:    http.StatusText(status),
		Status:   status,
		Instance: instance,
	}
	if p.Title == "" {
		p.Title = code.String()
	}
	if code.ShowsDetail() {
		p.Detail = err.Error()
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		p.Errors = ve.Violations
	}
	return p
}

// WriteError answers an HTTP request with the problem for err. Server-side
// failures (5xx) are logged with the request's context; client errors are
// not, since they are the caller's doing and are visible in the response.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(err, r.URL.Path)
	if p.Status >= 500 {
		slog.ErrorContext(r.Context(), "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("code", CodeOf(err).String()), slog.Any("error", err))
	}
	WriteProblem(w, p)
}

// WriteProblem writes p as application/problem+json with p.Status.
func WriteProblem(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil { // a Problem always marshals; keep the response well-formed anyway
		body = []byte(`{"type":"` + ProblemTypePrefix + `internal","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// Recover is HTTP middleware that turns a panic in next into a generic 500
// problem (when nothing was written yet) and logs the panic value with its
// stack; the process keeps serving. http.ErrAbortHandler is re-panicked, as
// net/http expects.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "panic in HTTP handler",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if !tw.wrote {
				WriteProblem(w, ProblemFor(Errorf(Internal, "panic"), r.URL.Path))
			}
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter remembers whether the response was started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush,
// deadlines, hijacking).
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

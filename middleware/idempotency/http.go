package idempotency

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
)

// Header is the request header carrying the key (IETF draft
// httpapi-idempotency-key-header).
const Header = "Idempotency-Key"

// ReplayedHeader marks a replayed response.
const ReplayedHeader = "Idempotent-Replayed"

// maxKeyLength bounds keys; the draft suggests UUIDs.
const maxKeyLength = 255

// maxBody bounds the request bodies fingerprinted.
const maxBody = 10 << 20

// HTTP is middleware for unsafe requests (POST, PATCH) that carry an
// Idempotency-Key: the first request's response is recorded and replayed to
// retries. Keys are scoped to the caller (the authenticated principal, when
// the middleware is inside auth.Middleware) and to the method and path.
// Requests without the header pass through.
func HTTP(store Store, opts *Options) func(http.Handler) http.Handler {
	o := opts.withDefaults()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get(Header)
			if key == "" || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
				next.ServeHTTP(w, r)
				return
			}
			if len(key) > maxKeyLength {
				core.WriteError(w, r, core.Errorf(core.InvalidArgument, "%s longer than %d characters", Header, maxKeyLength))
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					core.WriteError(w, r, core.Errorf(core.TooLarge, "request body over %d bytes", tooLarge.Limit))
				} else {
					core.WriteError(w, r, core.Errorf(core.InvalidArgument, "reading the request body: %v", err))
				}
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))

			rec := Record{
				Key:         scope(r) + "\x00" + r.Method + "\x00" + r.URL.Path + "\x00" + key,
				Fingerprint: fingerprint([]byte(r.Method), []byte(r.URL.RequestURI()), []byte(r.Header.Get("Content-Type")), body),
				State:       InProgress,
				Owner:       newOwner(),
				Expires:     time.Now().Add(o.Lease),
			}
			got, started, err := store.Begin(r.Context(), rec)
			if err != nil {
				core.WriteError(w, r, core.Wrap(core.Unavailable, fmt.Errorf("idempotency: %w", err)))
				return
			}
			if !started {
				answerExisting(w, r, got, rec.Fingerprint)
				return
			}
			record := &recorder{ResponseWriter: w, status: http.StatusOK}
			completed := false
			defer func() {
				if completed {
					return
				}
				// The handler failed or panicked: forget the attempt so a retry can run.
				ctx, cancel := releaseContext(r.Context())
				defer cancel()
				if err := store.Release(ctx, rec.Key, rec.Owner); err != nil && !errors.Is(err, ErrNotOwner) {
					slog.WarnContext(r.Context(), "idempotency: releasing a record", slog.Any("error", err))
				}
			}()
			next.ServeHTTP(record, r)
			if !cacheable(record.status, o.CacheFailures) {
				return
			}
			rec.State, rec.Expires = Done, time.Now().Add(o.TTL)
			rec.Response = &Response{Status: record.status, Header: replayHeader(w.Header()), Body: record.body.Bytes()}
			ctx, cancel := releaseContext(r.Context())
			defer cancel()
			if err := store.Complete(ctx, rec); err != nil {
				slog.WarnContext(r.Context(), "idempotency: recording a response", slog.Any("error", err))
				return
			}
			completed = true
		})
	}
}

// cacheable reports whether a response is recorded: successes always;
// client errors when asked, except the transient 408, 409 and 429.
func cacheable(status int, failures bool) bool {
	switch {
	case status < 400:
		return true
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusConflict, status == http.StatusTooManyRequests:
		return false
	}
	return failures
}

func answerExisting(w http.ResponseWriter, r *http.Request, got Record, fp string) {
	switch {
	case got.Fingerprint != fp:
		core.WriteError(w, r, core.Errorf(core.FailedPrecondition, "%s was already used with a different request", Header))
	case got.State == InProgress || got.Response == nil:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(got.Expires).Seconds()/10))))
		core.WriteError(w, r, core.Errorf(core.Aborted, "a request with this %s is still being processed", Header))
	default:
		h := w.Header()
		for k, vs := range got.Response.Header {
			h[k] = vs
		}
		h.Set(ReplayedHeader, "true")
		w.WriteHeader(got.Response.Status)
		_, _ = w.Write(got.Response.Body)
	}
}

// scope names the caller a key belongs to.
func scope(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok {
		return string(p.Method) + ":" + p.Subject
	}
	return "anonymous"
}

// replayHeader keeps the response headers worth replaying.
func replayHeader(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		switch strings.ToLower(k) {
		case "date", "content-length", "set-cookie", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-request-id":
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.wrote {
		rw.status, rw.wrote = code, true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	rw.wrote = true
	rw.body.Write(b)
	return rw.ResponseWriter.Write(b)
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

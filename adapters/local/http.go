package local

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/core"
)

// DevPrefix is where the runtime's own endpoints live, beside the apps' routes.
const DevPrefix = "/_polyfn/"

// maxDevBody bounds what the dev endpoints read.
const maxDevBody = 10 << 20

// httpHandler merges every app's routes into one handler; each route is
// served by its app's own handler (its middleware, its panic recovery),
// wrapped with invocation metadata and an access log line. Two apps
// declaring the same route is an error.
func (rt *Runtime) httpHandler() (h http.Handler, err error) {
	defer func() {
		if v := recover(); v != nil { // ServeMux panics on conflicting patterns
			err = fmt.Errorf("local: conflicting HTTP routes: %v", v)
		}
	}()
	front := core.NewApp("polyfn-local")
	for _, a := range rt.apps {
		ah := rt.instrument(a.Name(), a.Sizing(), a.HTTPHandler())
		for _, r := range a.Routes() {
			front.Handle(r.Pattern, ah)
		}
	}
	front.HandleFunc("GET "+DevPrefix+"healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	front.HandleFunc("POST "+DevPrefix+"topics/{name}", rt.publishHandler)
	front.HandleFunc("POST "+DevPrefix+"events/{function}", rt.eventHandler)
	if rt.opts.Metrics != nil {
		front.Handle("GET "+DevPrefix+"metrics", rt.opts.Metrics)
	}
	return front.HTTPHandler(), nil
}

// instrument gives each request of app fn its invocation metadata (id from
// X-Request-Id when the caller sends one, trace from traceparent, the
// deadline of the app's HTTP unit, sized sz) and logs one line per request.
// A handler that overruns its deadline finds its context ended; the
// timeout middleware (middleware/timeout) answers 504 for it.
func (rt *Runtime) instrument(fn string, sz core.Sizing, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = newID()
		}
		trace, _ := core.ParseTraceparent(r.Header.Get("Traceparent"))
		ctx, cancel := rt.invocation(r.Context(), fn, id, trace, sz)
		defer cancel()
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		rt.log.Log(ctx, level, "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status  int
	bytes   int64
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.status, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.written = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush sends what the handler wrote so far, for handlers that assert
// http.Flusher (http.ResponseController reaches the server's writer
// through Unwrap): a streamed response reaches the client as it is
// written.
func (s *statusRecorder) Flush() {
	s.written = true
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// publishHandler publishes the request body as one message to the topic
// whose local name is {name} (ORDERS_TOPIC_URL → "orders"); headers named
// Polyfn-Attribute-<key> become message attributes. 202 on success.
func (rt *Runtime) publishHandler(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	topicURL := ""
	for _, a := range rt.apps {
		for _, res := range a.Resources() {
			if res.Kind == core.KindTopic && resourceName(res) == name {
				topicURL = a.env(res.Env)
			}
		}
	}
	if topicURL == "" {
		core.WriteError(w, r, core.Errorf(core.NotFound, "no app declares a topic named %q", name))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		core.WriteError(w, r, err)
		return
	}
	topic, err := rt.topics.open(r.Context(), topicURL)
	if err != nil {
		core.WriteError(w, r, core.Wrap(core.Unavailable, err))
		return
	}
	md := map[string]string{}
	for k, vs := range r.Header {
		if name, ok := strings.CutPrefix(k, "Polyfn-Attribute-"); ok && name != "" && len(vs) > 0 {
			md[strings.ToLower(name)] = vs[0]
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		md["content-type"] = ct
	}
	if err := topic.Send(r.Context(), &pubsub.Message{Body: body, Metadata: md}); err != nil {
		core.WriteError(w, r, core.Wrap(core.Unavailable, err))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// eventHandler invokes the event function {function} once, synchronously,
// with the neutral CloudEvent (structured JSON) in the body: 204 when the
// handler succeeds, else the error as problem+json with its code's status.
// Database change events, which have no local source, are tried this way.
func (rt *Runtime) eventHandler(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("function")
	var fn core.EventFunc
	found := false
	for _, a := range rt.apps {
		if f, ok := a.EventFunc(name); ok {
			fn, found = f, true
		}
	}
	if !found {
		core.WriteError(w, r, core.Errorf(core.NotFound, "no event function named %q", name))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		core.WriteError(w, r, err)
		return
	}
	e, err := core.ParseEvent(body)
	if err != nil {
		core.WriteError(w, r, err)
		return
	}
	if err := rt.deliverNow(r.Context(), fn, e); err != nil {
		core.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads a dev endpoint's body, at most maxDevBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDevBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, core.Errorf(core.TooLarge, "body over %d bytes", tooLarge.Limit)
	case err != nil:
		return nil, core.Errorf(core.InvalidArgument, "reading body: %v", err)
	}
	return b, nil
}

package core

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// App is one deployable function app: the HTTP routes and event triggers a
// business function declares, the resources it needs, and its start-up and
// shut-down hooks. Adapters, the local runtime and the packaging all read
// this declaration; none of it is specific to a cloud.
//
// Declare everything before the App is started; an App is not modified
// after it is handed to a runtime. A handler or middleware that needs what
// the init hooks open is declared with HandleInit or UseInit: the route is
// declared at once (Routes and Manifest list it before Init), and its
// handler is built by Init.
type App struct {
	name      string
	routes    []Route
	events    []EventFunc
	resources []Resource
	httpMW    []*httpMiddleware
	eventMW   []Middleware
	inits     []func(context.Context, Env) error
	builders  []func() (commit func(), err error) // HandleInit's and UseInit's, in declaration order
	lateMW    bool                                // some middleware is built by Init
	closers   []func(context.Context) error
	alarms    *Alarms // nil: the defaults
	sizing    *Sizing // the HTTP routes'; nil: the defaults
	streaming bool    // StreamResponses

	mux       *http.ServeMux
	build     sync.Once
	handler   http.Handler
	started   atomic.Bool                  // Init was called
	composed  atomic.Pointer[http.Handler] // the middleware and routes, once Init built them (lateMW)
	eventByID map[string]int
}

// httpMiddleware is one Use'd middleware, or one that UseInit's build
// makes during Init (mw is nil until then, and stays nil when build
// returns none).
type httpMiddleware struct {
	mw    func(http.Handler) http.Handler
	build func() func(http.Handler) http.Handler
}

// validName reports whether name is an app or function name: lower-case
// letters, digits and hyphens, starting with a letter, at most 63
// characters (^[a-z][a-z0-9-]{0,62}$). It is a loop rather than a regexp
// because every function checks its names at start-up, and compiling the
// pattern in package init is a cost every cold start paid.
func validName(name string) bool {
	if name == "" || len(name) > 63 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// NewApp returns an empty App. The name is the function app's name on every
// platform (Lambda function, Cloud Run service, Azure function app), so it is
// lower-case letters, digits and hyphens, starting with a letter, at most 63
// characters; NewApp panics on another name, a programmer error.
func NewApp(name string) *App {
	if !validName(name) {
		panic(fmt.Sprintf("core: app name %q: want lower-case letters, digits and hyphens, starting with a letter", name))
	}
	return &App{name: name, mux: http.NewServeMux(), eventByID: map[string]int{}}
}

// Name returns the app's name.
func (a *App) Name() string { return a.name }

// Route is one declared HTTP route.
type Route struct {
	// Pattern is the net/http ServeMux pattern, such as "GET /users/{id}".
	Pattern string `json:"pattern"`
	// Method is the pattern's method, or "" for any method.
	Method string `json:"method,omitempty"`
	// Path is the pattern's path, such as "/users/{id}".
	Path string `json:"path"`
}

// Handle declares an HTTP route with a net/http ServeMux pattern
// ("POST /users", "GET /users/{id}"): route parameters are read with
// r.PathValue on every cloud. Like ServeMux, it panics on an invalid or
// conflicting pattern.
func (a *App) Handle(pattern string, h http.Handler) {
	a.mux.Handle(pattern, h)
	method, path, host := splitPattern(pattern)
	if host != "" {
		panic(fmt.Sprintf("core: route %q: host patterns are not portable", pattern))
	}
	a.routes = append(a.routes, Route{Pattern: pattern, Method: method, Path: path})
}

// HandleFunc declares an HTTP route handled by f.
func (a *App) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	a.Handle(pattern, http.HandlerFunc(f))
}

// HandleInit declares an HTTP route, as Handle does, whose handler is made
// by build during Init: once, after every init hook has succeeded, so the
// handler can use what the hooks opened (a bucket, a verifier, a store).
// The route is declared now: Routes and Manifest list it before Init. A
// request that reaches it before Init has built it is answered with an
// Unavailable problem (503). Init fails if build returns nil. HandleInit
// panics when called after Init, like the invalid patterns Handle refuses.
//
//	s := &service{}
//	app.OnInit(s.open) // opens s.bucket
//	app.HandleInit("GET /users/{id}", func() http.Handler { return http.HandlerFunc(s.get) })
func (a *App) HandleInit(pattern string, build func() http.Handler) {
	if a.started.Load() {
		panic(fmt.Sprintf("core: HandleInit(%q) after %s's Init: its handler would never be built", pattern, a.name))
	}
	late := &lateHandler{app: a.name, pattern: pattern}
	a.Handle(pattern, late)
	a.builders = append(a.builders, func() (func(), error) {
		h := build()
		if h == nil {
			return nil, fmt.Errorf("route %q: its HandleInit builder returned no handler", pattern)
		}
		return func() { late.h.Store(&h) }, nil
	})
}

// lateHandler serves a HandleInit route: Unavailable until Init built it.
type lateHandler struct {
	app, pattern string
	h            atomic.Pointer[http.Handler]
}

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	WriteError(w, r, Errorf(Unavailable, "core: %s is not started: the handler of %q is built by Init", l.app, l.pattern))
}

func splitPattern(p string) (method, path, host string) {
	p = strings.TrimSpace(p)
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		method, p = p[:i], strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i > 0 {
		host, p = p[:i], p[i:]
	}
	return method, p, host
}

// Routes returns the declared HTTP routes, in declaration order.
func (a *App) Routes() []Route { return append([]Route(nil), a.routes...) }

// Use adds HTTP middleware around every route; the first added is outermost.
func (a *App) Use(mws ...func(http.Handler) http.Handler) {
	for _, mw := range mws {
		a.httpMW = append(a.httpMW, &httpMiddleware{mw: mw})
	}
}

// UseInit adds HTTP middleware around every route, in Use's order, that
// build makes during Init: once, after every init hook has succeeded, so it
// can depend on what the hooks read (a CORS policy from the environment).
// build may return nil: no middleware. Until Init has built it, every
// request to the app is answered with an Unavailable problem (503).
// UseInit panics when called after Init.
func (a *App) UseInit(build func() func(http.Handler) http.Handler) {
	if a.started.Load() {
		panic(fmt.Sprintf("core: UseInit after %s's Init: its middleware would never be built", a.name))
	}
	m := &httpMiddleware{build: build}
	a.httpMW = append(a.httpMW, m)
	a.lateMW = true
	a.builders = append(a.builders, func() (func(), error) {
		mw := build()
		return func() { m.mw = mw }, nil
	})
}

// UseEvents adds event middleware around every event function; the first
// added is outermost.
func (a *App) UseEvents(mws ...Middleware) { a.eventMW = append(a.eventMW, mws...) }

// HTTPHandler returns the app's HTTP handler: every route behind the app's
// middleware, with panics contained (Recover is outermost but for the
// Observer's report) and unmatched requests answered with a problem+json 404
// or 405. It may be called before Init; middleware declared with UseInit is
// in place once Init has built it.
func (a *App) HTTPHandler() http.Handler {
	a.build.Do(func() {
		var inner http.Handler
		if a.lateMW {
			inner = http.HandlerFunc(a.serveComposed)
		} else {
			inner = a.compose()
		}
		a.handler = observeHTTP(Recover(inner))
	})
	return a.handler
}

// compose puts the routes behind the middleware.
func (a *App) compose() http.Handler {
	var h http.Handler = problemMux{a.mux}
	for i := len(a.httpMW) - 1; i >= 0; i-- {
		if mw := a.httpMW[i].mw; mw != nil {
			h = mw(h)
		}
	}
	return h
}

// serveComposed serves an app with UseInit middleware: Unavailable until
// Init has built the middleware.
func (a *App) serveComposed(w http.ResponseWriter, r *http.Request) {
	if h := a.composed.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	WriteError(w, r, Errorf(Unavailable, "core: %s is not started: its middleware is built by Init", a.name))
}

// problemMux answers requests that match no route with problem+json rather
// than ServeMux's text/plain 404 and 405.
type problemMux struct{ mux *http.ServeMux }

func (p problemMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := p.mux.Handler(r)
	if pattern != "" {
		p.mux.ServeHTTP(w, r) // ServeHTTP sets the path values Handler does not
		return
	}
	rec := &statusSniffer{header: http.Header{}}
	h.ServeHTTP(rec, r) // the mux's own 404/405 handler: learn which, and its Allow header
	switch rec.status {
	case http.StatusMethodNotAllowed:
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteProblem(w, ProblemFor(Errorf(Unimplemented, "method %s not allowed for %s", r.Method, r.URL.Path), r.URL.Path).withStatus(http.StatusMethodNotAllowed))
	case http.StatusNotFound, 0:
		WriteError(w, r, Errorf(NotFound, "no route for %s %s", r.Method, r.URL.Path))
	default: // a redirect (trailing slash, cleaned path): let the mux answer
		p.mux.ServeHTTP(w, r)
	}
}

func (p Problem) withStatus(status int) Problem {
	p.Status, p.Title = status, http.StatusText(status)
	return p
}

type statusSniffer struct {
	header http.Header
	status int
}

func (s *statusSniffer) Header() http.Header         { return s.header }
func (s *statusSniffer) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusSniffer) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

// EventFunc is one declared event function: a trigger and its handler.
type EventFunc struct {
	// Name is the function's name, unique within the app, in the same form
	// as an app name. It names the function on platforms that deploy one
	// function per trigger (an Azure function folder, a Lambda event source).
	Name    string
	Trigger Trigger
	// Handler is the handler with the app's event middleware applied.
	Handler Handler
	// Sizing is the function's declared sizing (SizeFunc); nil: the
	// defaults.
	Sizing *Sizing
}

// On declares an event function: h is called with each event that t
// delivers. It panics on an invalid or duplicate name, or an invalid
// trigger (programmer errors at start-up).
func (a *App) On(name string, t Trigger, h Handler) {
	if !validName(name) {
		panic(fmt.Sprintf("core: event function name %q: want lower-case letters, digits and hyphens", name))
	}
	if _, dup := a.eventByID[name]; dup {
		panic(fmt.Sprintf("core: event function %q declared twice", name))
	}
	if err := t.validate(); err != nil {
		panic(fmt.Sprintf("core: event function %q: %v", name, err))
	}
	a.eventByID[name] = len(a.events)
	a.events = append(a.events, EventFunc{Name: name, Trigger: t, Handler: h})
	// The trigger's variables are resources too; optional ones, because on a
	// cloud the platform delivers the events and the function may not open them.
	switch t := t.(type) {
	case ObjectTrigger:
		a.resources = append(a.resources, Resource{Env: t.Bucket, Kind: KindBucket, Optional: true})
	case MessageTrigger:
		// The function consumes the subscription (on AWS, Lambda polls
		// the queue with the function's own role).
		a.resources = append(a.resources, Resource{Env: t.Subscription, Kind: KindSubscription, Use: Consume, Optional: true})
		if t.Topic != "" {
			a.resources = append(a.resources, Resource{Env: t.Topic, Kind: KindTopic, Optional: true})
		}
	case StreamTrigger:
		// The platform's poller reads the stream as the function.
		a.resources = append(a.resources, Resource{Env: t.Stream, Kind: KindStream, Use: Consume, Optional: true})
	}
}

// EventFuncs returns the declared event functions in declaration order, each
// with the app's event middleware applied to its handler.
func (a *App) EventFuncs() []EventFunc {
	out := make([]EventFunc, len(a.events))
	for i, f := range a.events {
		f.Handler = Chain(f.Handler, a.eventMW...)
		out[i] = f
	}
	return out
}

// EventFunc returns the declared event function with the given name.
func (a *App) EventFunc(name string) (EventFunc, bool) {
	i, ok := a.eventByID[name]
	if !ok {
		return EventFunc{}, false
	}
	f := a.events[i]
	f.Handler = Chain(f.Handler, a.eventMW...)
	return f, true
}

// Require declares resources the app opens at start-up. A runtime resolves
// each from the environment before the init hooks run: a cloud build refuses
// to start when a required variable is unset, naming it; the local runtime
// fills in a local default (a directory, an in-memory topic). A resource
// without a Use gets its kind's default (DefaultUse). Require panics on an
// invalid variable name, an unknown kind or a use the kind does not take.
func (a *App) Require(rs ...Resource) {
	for _, r := range rs {
		var uses []Use
		if r.Use != "" {
			uses = []Use{r.Use}
		}
		d := declare(r.Env, r.Kind, uses)
		d.Optional = r.Optional
		a.resources = append(a.resources, d)
	}
}

// Resources returns the declared resources, sorted by variable name, each
// variable once: a variable declared required anywhere is required, and
// its uses are joined (Read here and Write there make ReadWrite).
func (a *App) Resources() []Resource {
	byEnv := map[string]Resource{}
	for _, r := range a.resources {
		if old, ok := byEnv[r.Env]; ok {
			if old.Kind != r.Kind {
				panic(fmt.Sprintf("core: variable %s declared as both a %s and a %s", r.Env, old.Kind, r.Kind))
			}
			u, err := join(old.Use, r.Use)
			if err != nil { // unreachable: Require and On declare only uses of the kind, which join
				panic(fmt.Sprintf("core: variable %s: %v", r.Env, err))
			}
			r.Use = u
			r.Optional = r.Optional && old.Optional
		}
		byEnv[r.Env] = r
	}
	out := make([]Resource, 0, len(byEnv))
	for _, r := range byEnv {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

// OnInit adds a start-up hook. Hooks run in order, once, after the
// environment is resolved and before the first invocation; a hook's error
// stops the start. Open resources here, not in package init, so that tests
// and runtimes can supply the environment.
func (a *App) OnInit(fn func(ctx context.Context, env Env) error) { a.inits = append(a.inits, fn) }

// OnClose adds a shut-down hook. Hooks run in reverse order after the last
// invocation has finished.
func (a *App) OnClose(fn func(ctx context.Context) error) { a.closers = append(a.closers, fn) }

// HasCloseHooks reports whether the app declared shut-down hooks
// (OnClose). A platform that must ask to be told of its shut-down asks only
// then: an AWS Lambda function registers the extension without which Lambda
// sends no SIGTERM, a round trip at every cold start, only for an app that
// has something to close.
func (a *App) HasCloseHooks() bool { return len(a.closers) > 0 }

// Init resolves nothing itself: it runs the init hooks with env, in order,
// then builds the handlers and middleware declared with HandleInit and
// UseInit, in declaration order. Runtimes call it once, before the first
// request; tests may call it directly. It runs only once: a second call
// returns an error and changes nothing, so nothing is built twice. After a
// failed Init the app stays unstarted (its built routes answer 503).
func (a *App) Init(ctx context.Context, env Env) error {
	if !a.started.CompareAndSwap(false, true) {
		return fmt.Errorf("core: starting %s: Init was already called", a.name)
	}
	for _, fn := range a.inits {
		if err := fn(ctx, env); err != nil {
			return fmt.Errorf("core: starting %s: %w", a.name, err)
		}
	}
	// Build everything, then put it in place: a failed build leaves no
	// route half started.
	commits := make([]func(), len(a.builders))
	for i, build := range a.builders {
		commit, err := build()
		if err != nil {
			return fmt.Errorf("core: starting %s: %w", a.name, err)
		}
		commits[i] = commit
	}
	for _, commit := range commits {
		commit()
	}
	if a.lateMW {
		h := a.compose()
		a.composed.Store(&h)
	}
	return nil
}

// Close runs the shut-down hooks in reverse order and returns the first error.
func (a *App) Close(ctx context.Context) error {
	var first error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](ctx); err != nil && first == nil {
			first = fmt.Errorf("core: closing %s: %w", a.name, err)
		}
	}
	return first
}

package azurefunctions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// DefaultRoutePrefix is the host's default extensions.http.routePrefix.
const DefaultRoutePrefix = "api"

// The binding names that polyfn build writes into function.json, and under
// which the handler looks up an invocation's Data first. When Data has no
// entry of the expected name but exactly one entry, that entry is used, so a
// hand-written function.json with other names still works.
const (
	BindingRequest   = "req"       // httpTrigger
	BindingResponse  = "res"       // http output
	BindingBlob      = "blob"      // blobTrigger
	BindingEvent     = "event"     // eventGridTrigger
	BindingMessage   = "message"   // queueTrigger, serviceBusTrigger
	BindingDocuments = "documents" // cosmosDBTrigger
	BindingTimer     = "timer"     // timerTrigger
)

// The headers that carry the invocation id: the host sends the first on
// default-mode and forwarded requests, and sets the second on proxied ones.
const (
	invocationIDHeader      = "X-Azure-Functions-InvocationId"
	proxyInvocationIDHeader = "X-Ms-Invocation-Id"
)

// defaultMaxRequestBytes bounds a default-mode request: blob content and
// HTTP bodies arrive whole, base64 inflating them by a third.
const defaultMaxRequestBytes = 256 << 20

// Options configure New and Run. A nil *Options means the defaults, which
// match the host.json that polyfn build writes; HostOptions reads the
// options a host.json implies.
type Options struct {
	// RoutePrefix is host.json's extensions.http.routePrefix, without
	// slashes: it is stripped from the path of every HTTP request before
	// the app's routes see it. Empty means DefaultRoutePrefix; "/" means
	// no prefix.
	RoutePrefix string
	// FunctionTimeout is host.json's functionTimeout, the one limit of
	// every function of the app: each invocation's context ends when its
	// own function's declared timeout (core.App.Size for the HTTP routes,
	// core.App.SizeFunc for an event function; 30 s by default) has
	// passed, or this one when it is shorter, before the host gives up on
	// the invocation. Zero means the host sets no limit.
	FunctionTimeout time.Duration
	// MaxRequestBytes bounds the body of a default-mode request; default 256 MiB.
	MaxRequestBytes int64
	// Logger receives the handler's own log lines (failed and skipped
	// events, replies the host cannot carry); default slog.Default().
	Logger *slog.Logger
	// Addr is where Run listens; default Addr(os.Getenv), the port the
	// host chose on 127.0.0.1.
	Addr string
	// Drain is how long Serve and Run wait, once their context ends, for
	// the invocations in flight; those still running after it see their
	// context canceled. Default 30s.
	Drain time.Duration
}

// defaultDrain is Options.Drain's default.
const defaultDrain = 30 * time.Second

// Handler is an Azure Functions custom handler for one or more core.Apps:
// an http.Handler that answers every request the host sends (see the
// package documentation). Run makes one and serves it; Serve serves one on
// a listener.
type Handler struct {
	prefix    string // "/api", or "" for none
	easyAuth  bool   // App Service authentication sets the identity headers
	timeout   time.Duration
	drain     time.Duration
	maxBody   int64
	log       *slog.Logger
	routes    routeMux            // every app's routes, each behind its invocation metadata
	functions map[string]function // by lower-case function name
	streams   streamResume        // where each partition's failed batch stopped (eventhubs.go)
}

var _ http.Handler = (*Handler)(nil)

// function is one Azure function the host may invoke by name.
type function struct {
	name  string
	http  bool           // an HTTP route, served through routes
	event core.EventFunc // otherwise
	// sizing is the function's declared sizing, whose timeout bounds each
	// invocation: its app's (App.Size) for a route, its own (App.SizeFunc)
	// for an event function.
	sizing core.Sizing
}

// New returns the handler for apps. It fails when two apps declare the
// same route or event function name. It has no side effects; the caller
// runs the apps' init hooks before the handler serves a request.
func New(apps []*core.App, opts *Options) (*Handler, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	h := &Handler{
		prefix:    routePrefix(o.RoutePrefix),
		timeout:   o.FunctionTimeout,
		drain:     o.Drain,
		maxBody:   o.MaxRequestBytes,
		log:       o.Logger,
		functions: map[string]function{},
	}
	if h.maxBody <= 0 {
		h.maxBody = defaultMaxRequestBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.drain <= 0 {
		h.drain = defaultDrain
	}
	h.easyAuth = appServiceAuthEnabled(os.Getenv)
	var routes []core.Route
	var routeApps []*core.App
	var events []string
	for _, a := range apps {
		for _, r := range a.Routes() {
			routes, routeApps = append(routes, r), append(routeApps, a)
		}
		for _, f := range a.EventFuncs() {
			if _, dup := h.functions[f.Name]; dup {
				return nil, fmt.Errorf("azurefunctions: two apps declare the event function %q", f.Name)
			}
			h.functions[f.Name] = function{name: f.Name, event: f, sizing: f.DeclaredSizing()}
			events = append(events, f.Name)
		}
	}
	names, err := FunctionNames(routes, events)
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		h.functions[n] = function{name: n, http: true, sizing: routeApps[i].Sizing()}
	}
	if h.routes, err = h.routeHandler(routes, routeApps, names); err != nil {
		return nil, err
	}
	return h, nil
}

func routePrefix(p string) string {
	switch {
	case p == "":
		return "/" + DefaultRoutePrefix
	case strings.Trim(p, "/") == "":
		return ""
	}
	return "/" + strings.Trim(p, "/")
}

// routeHandler merges the apps' routes into one handler. Each route is
// served by its own app's handler (its middleware, its panic recovery)
// inside the invocation metadata of its Azure function.
func (h *Handler) routeHandler(routes []core.Route, apps []*core.App, names []string) (m routeMux, err error) {
	defer func() {
		if v := recover(); v != nil { // ServeMux panics on conflicting patterns
			err = fmt.Errorf("azurefunctions: conflicting HTTP routes: %v", v)
		}
	}()
	m = routeMux{mux: http.NewServeMux(), functions: make(map[string]string, len(routes))}
	unmatched := core.NewApp("azure-functions")
	for i, r := range routes {
		m.mux.Handle(r.Pattern, h.invoked(h.functions[names[i]], apps[i].HTTPHandler()))
		m.functions[r.Pattern] = names[i]
		unmatched.Handle(r.Pattern, http.NotFoundHandler()) // never called: it only shapes the 404s and 405s
	}
	h.eventGridRoutes(m) // each object and message function's Event Grid endpoint (eventgrid.go)
	m.unmatched = unmatched.HTTPHandler()
	return m, nil
}

// routeMux sends each request to the handler of its route, and one that no
// route matches to a core.App declaring every route, which answers with
// problem+json 404 or 405 (with Allow) as each app does.
type routeMux struct {
	mux       *http.ServeMux
	unmatched http.Handler
	functions map[string]string // the Azure function of each route, by pattern
}

func (m routeMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, pattern := m.mux.Handler(r); pattern != "" {
		h.ServeHTTP(w, r) // the app's own ServeMux sets the path values
		return
	}
	m.unmatched.ServeHTTP(w, r)
}

// functionOf returns the Azure function whose route serves r.
func (m routeMux) functionOf(r *http.Request) (string, bool) {
	_, pattern := m.mux.Handler(r)
	fn, ok := m.functions[pattern]
	return fn, ok
}

// invoked runs next in the invocation metadata of function fn.
func (h *Handler) invoked(fn function, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := h.invocation(r.Context(), fn, routeDelivery(r))
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// routeDelivery is what the host said about the invocation of an HTTP
// request, kept in its context; without a trace on the host's request, the
// client's, if any.
func routeDelivery(r *http.Request) delivery {
	d, _ := r.Context().Value(deliveryKey{}).(delivery)
	if d.trace.IsZero() {
		d.trace, _ = core.ParseTraceparent(r.Header.Get("Traceparent"))
	}
	return d
}

// delivery is what the host's request says about an invocation, kept in the
// context until the function that serves it is known.
type delivery struct {
	id    string
	trace core.Trace
}

type deliveryKey struct{}

// invocation returns the context of one invocation of fn, described by d.
func (h *Handler) invocation(ctx context.Context, fn function, d delivery) (context.Context, context.CancelFunc) {
	return h.run(ctx, h.newInvocation(fn, d))
}

// newInvocation is the metadata of one invocation of fn, described by d:
// its ID is empty when the host sent none. Its deadline is fn's declared
// timeout from now, or functionTimeout's when that is earlier: the host
// sends no deadline, and one host.json bounds every function of the app.
func (h *Handler) newInvocation(fn function, d delivery) *core.Invocation {
	inv := &core.Invocation{ID: d.id, Cloud: core.CloudAzure, Function: fn.name, Trace: d.trace}
	now := time.Now()
	var host time.Time
	if h.timeout > 0 {
		host = now.Add(h.timeout)
	}
	inv.Deadline = fn.sizing.Deadline(now, host)
	return inv
}

// run returns the context in which inv runs, giving it an id when the host
// sent none.
func (h *Handler) run(ctx context.Context, inv *core.Invocation) (context.Context, context.CancelFunc) {
	if inv.ID == "" {
		inv.ID = newID()
	}
	inv.ColdStart = core.ColdStart()
	return core.WithInvocation(telemetry.WithInvocationLog(ctx), inv)
}

// ServeHTTP answers the host:
//
//   - POST /<function> with an invocation id is a default-mode invocation;
//   - GET / without one is the host's readiness poll;
//   - anything else is an HTTP request, forwarded or proxied by the host,
//     or sent directly when the handler runs on its own.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch t := h.targetOf(r); t.kind {
	case targetInvocation:
		h.serveInvocation(w, r, t.fn, t.id)
	case targetReadiness:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ready\n")
	default:
		h.serveHTTPRequest(w, r)
	}
}

// target is what a request to the handler asks for.
type target struct {
	kind targetKind
	fn   function // of an invocation
	id   string   // of an invocation
}

type targetKind int

const (
	targetHTTPRequest targetKind = iota // a forwarded, proxied or direct HTTP request
	targetInvocation                    // a default-mode invocation of fn
	targetReadiness                     // the host's readiness poll
)

// targetOf tells the requests the host sends apart: POST /<function> with
// an invocation id is a default-mode invocation; GET / without one is the
// host's readiness poll; anything else is an HTTP request.
func (h *Handler) targetOf(r *http.Request) target {
	id := r.Header.Get(invocationIDHeader)
	if id != "" && r.Method == http.MethodPost {
		if fn, ok := h.functions[strings.ToLower(strings.TrimPrefix(r.URL.Path, "/"))]; ok {
			return target{kind: targetInvocation, fn: fn, id: id}
		}
	}
	if r.URL.Path == "/" && id == "" && r.Header.Get(proxyInvocationIDHeader) == "" {
		return target{kind: targetReadiness}
	}
	return target{kind: targetHTTPRequest}
}

// serveHTTPRequest serves a request forwarded (enableForwardingHttpRequest)
// or proxied (enableProxyingHttpRequest) by the host to the app's routes,
// with the route prefix removed from its path.
func (h *Handler) serveHTTPRequest(w http.ResponseWriter, r *http.Request) {
	r2, err := h.httpRequest(r)
	if err != nil {
		core.WriteError(w, r, err)
		return
	}
	h.routes.ServeHTTP(w, r2)
}

// httpRequest prepares a forwarded, proxied or direct request for the
// routes: what the host says about its invocation goes into its context,
// forwarding's damage to its query is undone where it can be, and the route
// prefix is removed from its path. A path outside the prefix is NotFound.
func (h *Handler) httpRequest(r *http.Request) (*http.Request, error) {
	d := delivery{id: r.Header.Get(proxyInvocationIDHeader)}
	if d.id == "" {
		if d.id = r.Header.Get(invocationIDHeader); d.id != "" {
			r = recoverForwardedQuery(r)
		}
	}
	ctx := context.WithValue(r.Context(), deliveryKey{}, d)
	if h.easyAuth {
		ctx = core.WithGatewayClaims(ctx, clientPrincipalClaims(r.Header.Get(clientPrincipalHeader)))
	}
	r2, ok := stripPrefix(r.WithContext(ctx), h.prefix)
	if !ok {
		return nil, core.Errorf(core.NotFound, "no route for %s %s: HTTP paths start with %s/", r.Method, r.URL.Path, h.prefix)
	}
	return r2, nil
}

// stripPrefix returns r with prefix removed from its path, matched without
// regard to case as the host matches routes; false if the path is not
// under prefix. r is a copy of the server's request, and is changed.
func stripPrefix(r *http.Request, prefix string) (*http.Request, bool) {
	if prefix == "" {
		return r, true
	}
	path, ok := cutPathPrefix(r.URL.Path, prefix)
	if !ok {
		return nil, false
	}
	u := *r.URL
	u.Path = path
	u.RawPath, _ = cutPathPrefix(u.RawPath, prefix)
	r.URL = &u
	return r, true
}

// withURL returns a shallow copy of r with a copy of its URL changed by edit.
func withURL(r *http.Request, edit func(*url.URL)) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	edit(&u)
	r2.URL = &u
	return r2
}

// cutPathPrefix removes prefix ("/api") from path when path is the prefix
// itself or continues with a slash after it.
func cutPathPrefix(path, prefix string) (string, bool) {
	if len(path) < len(prefix) || !strings.EqualFold(path[:len(prefix)], prefix) {
		return "", false
	}
	rest := path[len(prefix):]
	switch {
	case rest == "":
		return "/", true
	case rest[0] == '/':
		return rest, true
	}
	return "", false
}

// recoverForwardedQuery undoes, where it can, what forwarding does to the
// query: the host rebuilds it from a dictionary, so ?a=1&a=2 arrives as
// a=1%2C2. App Service's front end passes the client's own path and query in
// X-Original-URL; when that names the same path, its query is the original.
func recoverForwardedQuery(r *http.Request) *http.Request {
	orig := r.Header.Get("X-Original-Url")
	if orig == "" {
		return r
	}
	u, err := url.Parse(orig)
	if err != nil || u.EscapedPath() != r.URL.EscapedPath() || u.RawQuery == r.URL.RawQuery {
		return r
	}
	return withURL(r, func(fwd *url.URL) { fwd.RawQuery = u.RawQuery })
}

// serveInvocation answers a default-mode invocation of fn.
func (h *Handler) serveInvocation(w http.ResponseWriter, r *http.Request, fn function, id string) {
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(r.Context(), w, fn, core.Errorf(core.TooLarge, "azurefunctions: invocation request larger than %d bytes", h.maxBody))
			return
		}
		h.reject(r.Context(), w, fn, core.Errorf(core.Canceled, "azurefunctions: reading the invocation request: %w", err))
		return
	}
	d := invocationDelivery(r, id)
	logs := &logBuffer{}
	ctx := withLogs(context.WithValue(r.Context(), deliveryKey{}, d), logs)
	if fn.http {
		h.serveHTTPFunction(ctx, w, fn, body, logs)
		return
	}
	h.serveEvents(ctx, w, fn, body, logs)
}

// invocationDelivery is what the host's request for a default-mode
// invocation says about it.
func invocationDelivery(r *http.Request, id string) delivery {
	d := delivery{id: id}
	d.trace, _ = core.ParseTraceparent(r.Header.Get("Traceparent"))
	return d
}

// readBody reads r's body, at most max bytes: in one allocation when the
// host sent a Content-Length (it always does), which net/http enforces.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	switch n := r.ContentLength; {
	case n > max:
		return nil, &http.MaxBytesError{Limit: max}
	case n > 0:
		buf := make([]byte, n)
		_, err := io.ReadFull(r.Body, buf)
		return buf, err
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, max))
}

// reject answers an invocation that cannot be run: the host fails it, and
// the trigger's retry policy applies.
func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, fn function, err error) {
	h.log.WarnContext(ctx, "azurefunctions: invocation rejected",
		slog.String("function", fn.name), slog.String("code", core.CodeOf(err).String()), slog.Any("error", err))
	core.WriteProblem(w, problem(err, fn.name))
}

// newID returns a random 128-bit id in hex, for requests the host did not send.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

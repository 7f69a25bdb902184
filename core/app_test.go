package core_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestAppHTTP(t *testing.T) {
	app := core.NewApp("users")
	app.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	app.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	app.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("x") })
	var order []string
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { order = append(order, "a"); next.ServeHTTP(w, r) })
	}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { order = append(order, "b"); next.ServeHTTP(w, r) })
	})
	h := app.HTTPHandler()

	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string
		wantProblem  bool
	}{
		{"GET", "/users/u%2F1", 200, "user u/1", false},
		{"POST", "/users", 201, "", false},
		{"GET", "/nope", 404, "", true},
		{"DELETE", "/users", 405, "", true},
		{"GET", "/panic", 500, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			isProblem := rec.Header().Get("Content-Type") == "application/problem+json"
			if isProblem != tt.wantProblem {
				t.Errorf("problem+json = %v, want %v (body %q)", isProblem, tt.wantProblem, rec.Body)
			}
			if !tt.wantProblem && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body, tt.wantBody)
			}
			if tt.wantStatus == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
	if got := strings.Join(order[:2], ""); got != "ab" {
		t.Errorf("middleware order %q, want first added outermost (ab)", got)
	}
	want := []core.Route{
		{Pattern: "GET /users/{id}", Method: "GET", Path: "/users/{id}"},
		{Pattern: "POST /users", Method: "POST", Path: "/users"},
		{Pattern: "GET /panic", Method: "GET", Path: "/panic"},
	}
	if diff := cmp.Diff(want, app.Routes()); diff != "" {
		t.Errorf("Routes() (-want +got):\n%s", diff)
	}
}

func TestAppDeclarationPanics(t *testing.T) {
	h := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	tests := []struct {
		name string
		f    func()
	}{
		{"bad app name", func() { core.NewApp("Users") }},
		{"bad function name", func() { core.NewApp("a").On("Bad_Name", core.TimerTrigger{Schedule: "@hourly"}, h) }},
		{"duplicate function", func() {
			a := core.NewApp("a")
			a.On("f", core.TimerTrigger{Schedule: "@hourly"}, h)
			a.On("f", core.TimerTrigger{Schedule: "@daily"}, h)
		}},
		{"trigger without variable", func() { core.NewApp("a").On("f", core.ObjectTrigger{}, h) }},
		{"object trigger with message kind", func() {
			core.NewApp("a").On("f", core.ObjectTrigger{Bucket: "B_URL", Events: []core.Kind{core.KindMessage}}, h)
		}},
		{"empty schedule", func() { core.NewApp("a").On("f", core.TimerTrigger{}, h) }},
		{"conflicting route", func() {
			a := core.NewApp("a")
			a.HandleFunc("GET /x", nil)
			a.HandleFunc("GET /x", nil)
		}},
		{"lower-case variable", func() { core.NewApp("a").Require(core.Bucket("users_bucket")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			tt.f()
		})
	}
}

func TestAppEventsAndResources(t *testing.T) {
	app := core.NewApp("media")
	var trace []string
	app.UseEvents(func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			trace = append(trace, "mw")
			return next.HandleEvent(ctx, e)
		})
	})
	app.Require(core.Bucket("MEDIA_BUCKET_URL"), core.Topic("THUMBS_TOPIC_URL"))
	app.On("thumb", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/"},
		core.HandlerFunc(func(context.Context, core.Event) error { trace = append(trace, "h"); return nil }))
	app.On("orders", core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL", Topic: "ORDERS_TOPIC_URL"},
		core.HandlerFunc(func(context.Context, core.Event) error { return nil }))

	fn, ok := app.EventFunc("thumb")
	if !ok {
		t.Fatal("EventFunc(thumb) not found")
	}
	if err := fn.Handler.HandleEvent(t.Context(), core.Event{}); err != nil || strings.Join(trace, ",") != "mw,h" {
		t.Errorf("handler trace %v, err %v; want middleware applied", trace, err)
	}
	ot := fn.Trigger.(core.ObjectTrigger)
	if !ot.Matches(core.KindObjectCreated, "uploads/a.png") || ot.Matches(core.KindObjectCreated, "thumbnails/a.png") ||
		ot.Matches(core.KindObjectDeleted, "uploads/a.png") {
		t.Error("ObjectTrigger.Matches: wrong prefix or kind filtering")
	}
	want := []core.Resource{
		{Env: "MEDIA_BUCKET_URL", Kind: core.KindBucket, Use: core.ReadWrite},
		{Env: "ORDERS_SUBSCRIPTION_URL", Kind: core.KindSubscription, Use: core.Consume, Optional: true},
		{Env: "ORDERS_TOPIC_URL", Kind: core.KindTopic, Optional: true},
		{Env: "THUMBS_TOPIC_URL", Kind: core.KindTopic, Use: core.Publish},
	}
	if diff := cmp.Diff(want, app.Resources()); diff != "" {
		t.Errorf("Resources() (-want +got):\n%s", diff)
	}
}

func TestResolveEnv(t *testing.T) {
	app := core.NewApp("users")
	app.Require(core.Bucket("USERS_BUCKET_URL"), core.Topic("EVENTS_TOPIC_URL"), core.Resource{Env: "AUDIT_BUCKET_URL", Kind: core.KindBucket, Optional: true})
	lookupOf := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}

	t.Run("cloud: every missing required variable is named", func(t *testing.T) {
		_, err := core.ResolveEnv(app, lookupOf(map[string]string{"EVENTS_TOPIC_URL": ""}), nil)
		var missing *core.MissingEnvError
		if !errors.As(err, &missing) {
			t.Fatalf("ResolveEnv = %v, want a *MissingEnvError", err)
		}
		if diff := cmp.Diff([]string{"EVENTS_TOPIC_URL", "USERS_BUCKET_URL"}, missing.Vars); diff != "" {
			t.Errorf("missing (-want +got):\n%s", diff)
		}
		if !strings.Contains(err.Error(), "USERS_BUCKET_URL") || !strings.Contains(err.Error(), "users") {
			t.Errorf("error %q does not name the app and the variable", err)
		}
	})
	t.Run("set values win over defaults; other keys pass through", func(t *testing.T) {
		env, err := core.ResolveEnv(app, lookupOf(map[string]string{"USERS_BUCKET_URL": "s3://b", "OTHER": "x"}),
			func(r core.Resource) string { return "mem://" + r.Env })
		if err != nil {
			t.Fatal(err)
		}
		got := []string{env("USERS_BUCKET_URL"), env("EVENTS_TOPIC_URL"), env("AUDIT_BUCKET_URL"), env("OTHER"), env("UNSET")}
		want := []string{"s3://b", "mem://EVENTS_TOPIC_URL", "mem://AUDIT_BUCKET_URL", "x", ""}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("env (-want +got):\n%s", diff)
		}
	})
}

func TestInitAndCloseHooks(t *testing.T) {
	app := core.NewApp("a")
	var trace []string
	app.OnInit(func(ctx context.Context, env core.Env) error { trace = append(trace, "init1:"+env("K")); return nil })
	app.OnInit(func(ctx context.Context, env core.Env) error { trace = append(trace, "init2"); return nil })
	app.OnClose(func(context.Context) error { trace = append(trace, "close1"); return nil })
	app.OnClose(func(context.Context) error { trace = append(trace, "close2"); return errors.New("flush failed") })
	if err := app.Init(t.Context(), func(k string) string { return "v" }); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(t.Context()); err == nil || !strings.Contains(err.Error(), "flush failed") {
		t.Errorf("Close = %v, want the hook's error", err)
	}
	if diff := cmp.Diff([]string{"init1:v", "init2", "close2", "close1"}, trace); diff != "" {
		t.Errorf("hook order (-want +got):\n%s", diff)
	}
}

func TestInvocationContext(t *testing.T) {
	deadline := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	inv := &core.Invocation{ID: "req-1", Cloud: core.CloudAWS, Function: "users", Deadline: deadline}
	ctx, cancel := core.WithInvocation(t.Context(), inv)
	defer cancel()
	got, ok := core.InvocationFrom(ctx)
	if !ok || got != inv {
		t.Fatalf("InvocationFrom = %v, %v; want the invocation", got, ok)
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("ctx.Deadline() = %v, %v; want %v", d, ok, deadline)
	}
	if _, ok := core.InvocationFrom(t.Context()); ok {
		t.Error("InvocationFrom(empty context) found one")
	}
}

func TestParseTraceparent(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want core.Trace
	}{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, core.Trace{Format: core.TraceW3C, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true, Raw: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, core.Trace{Format: core.TraceW3C, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Raw: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", true, core.Trace{Format: core.TraceW3C, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true, Raw: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"}},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, core.Trace{}},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, core.Trace{}},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, core.Trace{}},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, core.Trace{}},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false, core.Trace{}},
		{"", false, core.Trace{}},
	}
	for _, tt := range tests {
		got, ok := core.ParseTraceparent(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseTraceparent(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestColdStartOnce(t *testing.T) {
	// Other tests in this binary may have taken the cold start already; after
	// one call, every call is warm.
	core.ColdStart()
	for range 3 {
		if core.ColdStart() {
			t.Fatal("ColdStart() returned true twice")
		}
	}
}

// TestHandleInit checks routes whose handlers Init builds: they are declared
// (Routes lists them) before Init, answer 503 with an Unavailable problem
// until Init has built them, are built once, after every init hook, and
// Init cannot run twice.
func TestHandleInit(t *testing.T) {
	app := core.NewApp("users")
	var opened string // what the init hook opened
	builds := 0
	app.OnInit(func(ctx context.Context, env core.Env) error { opened = env("GREETING"); return nil })
	app.HandleInit("GET /hello", func() http.Handler {
		builds++
		greeting := opened // read when the handler is built, after the hook
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, greeting) })
	})
	app.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") })
	if diff := cmp.Diff([]core.Route{{Pattern: "GET /hello", Method: "GET", Path: "/hello"}, {Pattern: "GET /plain", Method: "GET", Path: "/plain"}}, app.Routes()); diff != "" {
		t.Errorf("Routes before Init (-want +got):\n%s", diff)
	}
	h := app.HTTPHandler() // as adapters do, before Init
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	rec := get("/hello")
	if rec.Code != 503 || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), `"type":"urn:polyfn:problem:unavailable"`) {
		t.Errorf("before Init: got %d %q %s, want a 503 unavailable problem", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec := get("/plain"); rec.Code != 200 {
		t.Errorf("a plain route before Init: got %d, want 200", rec.Code)
	}
	if builds != 0 {
		t.Fatalf("built %d times before Init", builds)
	}
	if err := app.Init(t.Context(), func(k string) string { return map[string]string{"GREETING": "hello"}[k] }); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if rec := get("/hello"); rec.Code != 200 || rec.Body.String() != "hello" {
			t.Errorf("after Init: got %d %q, want 200 hello", rec.Code, rec.Body)
		}
	}
	if err := app.Init(t.Context(), func(k string) string { return map[string]string{"GREETING": "again"}[k] }); err == nil {
		t.Error("a second Init succeeded")
	}
	if rec := get("/hello"); builds != 1 || rec.Body.String() != "hello" {
		t.Errorf("after a second Init: %d builds, body %q; want 1 build, hello", builds, rec.Body)
	}
	defer func() {
		if recover() == nil {
			t.Error("HandleInit after Init did not panic")
		}
	}()
	app.HandleInit("GET /late", func() http.Handler { return http.NotFoundHandler() })
}

// TestUseInit checks middleware that Init builds: it takes its place among
// Use's in declaration order, nil means none, and before Init every request
// (even one that matches no route) is answered 503.
func TestUseInit(t *testing.T) {
	var order []string
	tag := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { order = append(order, name); next.ServeHTTP(w, r) })
		}
	}
	app := core.NewApp("users")
	name := ""
	app.OnInit(func(ctx context.Context, env core.Env) error { name = env("MW"); return nil })
	app.Use(tag("a"))
	app.UseInit(func() func(http.Handler) http.Handler { return tag(name) })
	app.UseInit(func() func(http.Handler) http.Handler { return nil })
	app.Use(tag("c"))
	app.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { order = append(order, "handler") })
	h := app.HTTPHandler()
	for _, path := range []string{"/x", "/nope"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 503 || len(order) != 0 {
			t.Errorf("%s before Init: got %d (ran %v), want 503 and nothing run", path, rec.Code, order)
		}
	}
	if err := app.Init(t.Context(), func(k string) string { return map[string]string{"MW": "b"}[k] }); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if want := []string{"a", "b", "c", "handler"}; rec.Code != 200 || !slices.Equal(order, want) {
		t.Errorf("after Init: got %d, order %v; want 200, %v", rec.Code, order, want)
	}
}

// TestInitBuildFailures checks that nothing is built when a hook fails, and
// that a builder returning no handler fails Init, leaving no route started.
func TestInitBuildFailures(t *testing.T) {
	built := false
	app := core.NewApp("users")
	app.OnInit(func(context.Context, core.Env) error { return errors.New("bucket unreachable") })
	app.HandleInit("GET /x", func() http.Handler { built = true; return http.NotFoundHandler() })
	if err := app.Init(t.Context(), func(string) string { return "" }); err == nil || built {
		t.Errorf("a failing hook: Init = %v, built = %v; want an error and nothing built", err, built)
	}

	app = core.NewApp("users")
	app.HandleInit("GET /ok", func() http.Handler { return http.NotFoundHandler() })
	app.HandleInit("GET /nil", func() http.Handler { return nil })
	err := app.Init(t.Context(), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), `route "GET /nil"`) {
		t.Errorf("a nil handler: Init = %v, want an error naming the route", err)
	}
	rec := httptest.NewRecorder()
	app.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/ok", nil))
	if rec.Code != 503 {
		t.Errorf("a route of the failed Init: got %d, want 503", rec.Code)
	}
}

// TestHandleInitConcurrent serves requests while Init builds the routes
// (run with -race): each is answered 503 or by the built handler.
func TestHandleInitConcurrent(t *testing.T) {
	app := core.NewApp("users")
	app.UseInit(func() func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler { return next }
	})
	app.HandleInit("GET /x", func() http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	})
	h := app.HTTPHandler()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
				if rec.Code != 503 && rec.Code != 204 {
					t.Errorf("got %d, want 503 or 204", rec.Code)
					return
				}
			}
		})
	}
	if err := app.Init(t.Context(), func(string) string { return "" }); err != nil {
		t.Error(err)
	}
	wg.Wait()
}

func TestHasCloseHooks(t *testing.T) {
	app := core.NewApp("closes")
	if app.HasCloseHooks() {
		t.Fatal("a new app reports close hooks")
	}
	app.OnClose(func(context.Context) error { return nil })
	if !app.HasCloseHooks() {
		t.Fatal("an app with an OnClose hook reports none")
	}
}

package gcpfunctions

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/internal/emulators"
)

// testRegistration builds the entry points of apps without registering them
// with the framework's global registry.
func testRegistration(t *testing.T, apps ...*core.App) *Registration {
	t.Helper()
	r := &Registration{apps: apps}
	if err := r.build(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *Registration) entry(t *testing.T, name string) entryPoint {
	t.Helper()
	for _, ep := range r.entryPoints {
		if ep.name == name {
			return ep
		}
	}
	t.Fatalf("no entry point %q", name)
	return entryPoint{}
}

// serveCloudEvent serves an event function's entry point as the framework
// serves an HTTP function (a panic that escapes it is the framework's 500).
func serveCloudEvent(t testing.TB, fn http.HandlerFunc) http.Handler {
	t.Helper()
	if fn == nil {
		t.Fatal("no HTTP function")
	}
	return frameworkHTTP(fn)
}

// binaryRequest is a binary-mode CloudEvent as Eventarc sends it.
func binaryRequest(typ, source, id, contentType string, body []byte, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Ce-Specversion", "1.0")
	r.Header.Set("Ce-Id", id)
	r.Header.Set("Ce-Type", typ)
	r.Header.Set("Ce-Source", source)
	r.Header.Set("Ce-Time", "2026-11-21T10:30:00Z")
	r.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func pubsubRequest(id string, body string, headers ...string) *http.Request {
	data := `{"message":{"data":"` + body + `","messageId":"` + id + `","publishTime":"2026-11-21T10:30:00Z"},"subscription":"projects/p/subscriptions/s"}`
	return binaryRequest(typeMessagePublished, topicSource, id, "application/json", []byte(data), headers...)
}

// captureLogs sends the default logger's records to a buffer for the test.
func captureLogs(t *testing.T) *emulators.SyncBuffer {
	t.Helper()
	buf := &emulators.SyncBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

// TestEventStatusForEveryCode drives the status table through the
// CloudEvents receive path, for every code.
func TestEventStatusForEveryCode(t *testing.T) {
	logs := captureLogs(t)
	var code core.Code
	app := core.NewApp("codes")
	app.On("fail", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(context.Context, core.Event) error {
		return core.Errorf(code, "secret detail %d", code)
	}))
	h := serveCloudEvent(t, testRegistration(t, app).entry(t, "fail").http)
	for _, code = range core.Codes() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, pubsubRequest("m-"+code.String(), "eA=="))
		if w.Code != byCode[code] {
			t.Errorf("%v: status %d, want %d", code, w.Code, byCode[code])
		}
		if strings.Contains(w.Body.String(), "secret") {
			t.Errorf("%v: the response %q shows the error's text", code, w.Body)
		}
	}
	if !strings.Contains(logs.String(), `"error":"secret detail 1"`) || !strings.Contains(logs.String(), `"code":"invalid-argument"`) {
		t.Errorf("the failures are not logged with their codes:\n%s", logs)
	}
}

func TestEventPanicThenNextWorks(t *testing.T) {
	captureLogs(t)
	app := core.NewApp("panics")
	app.On("boom", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(_ context.Context, e core.Event) error {
		if string(e.Message.Body) == "panic" {
			panic("boom")
		}
		return nil
	}))
	h := serveCloudEvent(t, testRegistration(t, app).entry(t, "boom").http)
	for _, tt := range []struct {
		body string
		want int
	}{{"cGFuaWM=", 500}, {"b2s=", 200}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, pubsubRequest("m1", tt.body))
		if w.Code != tt.want {
			t.Errorf("body %s: status %d, want %d", tt.body, w.Code, tt.want)
		}
	}
}

// TestMalformedEventAcknowledged: malformed data is logged and acknowledged
// without calling the handler; so is an event the trigger filters out.
func TestMalformedEventAcknowledged(t *testing.T) {
	logs := captureLogs(t)
	called := false
	app := core.NewApp("uploads")
	app.On("on-upload", core.ObjectTrigger{Bucket: "B", Prefix: "uploads/"}, core.HandlerFunc(func(context.Context, core.Event) error {
		called = true
		return nil
	}))
	h := serveCloudEvent(t, testRegistration(t, app).entry(t, "on-upload").http)
	for _, tt := range []struct {
		name, body string
		want       int
	}{
		{"malformed", `{"bucket":"b"}`, http.StatusAccepted},
		{"filtered", `{"bucket":"b","name":"other/x.png"}`, http.StatusOK},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, binaryRequest(typeObjectFinalized, bucketSource, "e-"+tt.name, "application/json", []byte(tt.body)))
		if w.Code != tt.want || called {
			t.Errorf("%s: status %d, handler called %v; want %d, not called", tt.name, w.Code, called, tt.want)
		}
	}
	if !strings.Contains(logs.String(), `"event_id":"e-malformed"`) || !strings.Contains(logs.String(), "acknowledged") {
		t.Errorf("the malformed event is not logged:\n%s", logs)
	}
}

func TestEventInvocation(t *testing.T) {
	var got core.Invocation
	app := core.NewApp("inv")
	app.On("record", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(ctx context.Context, _ core.Event) error {
		inv, _ := core.InvocationFrom(ctx)
		got = *inv
		return nil
	}))
	h := serveCloudEvent(t, testRegistration(t, app).entry(t, "record").http)
	deadline := time.Now().Add(10 * time.Second).Truncate(time.Millisecond) // Cloud Run's, before the unit's 30 s
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	req := pubsubRequest("m-42", "eA==", "Ce-Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), req)
	got.ColdStart = false // true for whichever test runs first
	want := core.Invocation{ID: "m-42", Cloud: core.CloudGCP, Function: "record", Deadline: deadline,
		Trace: core.Trace{Format: core.TraceW3C, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
			Sampled: true, Raw: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invocation (-want +got):\n%s", diff)
	}
}

func TestHTTPFunctionInvocation(t *testing.T) {
	var got core.Invocation
	app := core.NewApp("api")
	app.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
		inv, _ := core.InvocationFrom(r.Context())
		got = *inv
	})
	h := testRegistration(t, app).entry(t, "api").http
	req := httptest.NewRequest(http.MethodGet, "/who", nil)
	req.Header.Set("Function-Execution-Id", "exec-1")
	req.Header.Set("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/17;o=1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got.ID != "exec-1" || got.Function != "api" || got.Cloud != core.CloudGCP || got.Trace.SpanID != "17" || got.Deadline.IsZero() {
		t.Errorf("invocation = %+v, want id exec-1, function api, span 17, the unit's deadline", got)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/who", nil))
	if len(got.ID) != 32 {
		t.Errorf("id %q outside the framework, want a generated one", got.ID)
	}
}

func TestSchedulerHTTPTarget(t *testing.T) {
	captureLogs(t)
	var got core.Event
	var fail error
	app := core.NewApp("jobs")
	app.On("nightly", core.TimerTrigger{Schedule: "0 3 * * *"}, core.HandlerFunc(func(_ context.Context, e core.Event) error {
		got = e
		return fail
	}))
	h := testRegistration(t, app).entry(t, "nightly").http
	post := func(body string, headers ...string) int {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("User-Agent", "Google-Cloud-Scheduler")
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	at := "2026-11-22T03:00:00+01:00"
	if s := post(`{"report":"daily"}`, schedulerJobHeader, "nightly-report", schedulerTimeHeader, at); s != 200 {
		t.Fatalf("status %d, want 200", s)
	}
	want := &core.Timer{Name: "nightly-report", ScheduledTime: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC), Payload: []byte(`{"report":"daily"}`)}
	if diff := cmp.Diff(want, got.Timer); diff != "" {
		t.Errorf("timer (-want +got):\n%s", diff)
	}
	if got.ID() != "nightly-report/2026-11-22T02:00:00Z" || got.NativeType() != schedulerType ||
		got.Source() != "//cloudscheduler.googleapis.com/jobs/nightly-report" {
		t.Errorf("envelope id %q native %q source %q", got.ID(), got.NativeType(), got.Source())
	}

	fail = core.Errorf(core.Unavailable, "later")
	if s := post("", schedulerJobHeader, "nightly-report", schedulerTimeHeader, at); s != http.StatusServiceUnavailable {
		t.Errorf("failed run: status %d, want 503 so that Cloud Scheduler retries", s)
	}
	if s := post("", schedulerJobHeader, "nightly-report", schedulerTimeHeader, "soon"); s != http.StatusAccepted {
		t.Errorf("bad schedule time: status %d, want 202", s)
	}
	if s := post(strings.Repeat("x", maxSchedulerBody+1), schedulerJobHeader, "j", schedulerTimeHeader, at); s != http.StatusAccepted {
		t.Errorf("body too large: status %d, want 202", s)
	}

	// A Pub/Sub target arrives as a CloudEvent at the same entry point.
	fail = nil
	w := httptest.NewRecorder()
	h.ServeHTTP(w, binaryRequest(typeMessagePublished, topicSource, "m-9", "application/json", readTestdata(t, "pubsub", "attributes-only.json")))
	if w.Code != 200 || got.Timer == nil || got.Timer.Name != "nightly-report" || got.ID() != "m-9" {
		t.Errorf("Pub/Sub target: status %d, event %+v; want 200 and the nightly-report timer", w.Code, got)
	}
}

// TestSchedulerFailureIsProblem checks the exact answer to a Cloud Scheduler
// run that did not succeed: an RFC 9457 problem with the status Cloud
// Scheduler acts on, the failure's code, and no internal text.
func TestSchedulerFailureIsProblem(t *testing.T) {
	captureLogs(t)
	app := core.NewApp("jobs")
	app.On("nightly", core.TimerTrigger{Schedule: "0 3 * * *"}, core.HandlerFunc(func(context.Context, core.Event) error {
		return core.Errorf(core.Unavailable, "secret internal detail: db at 10.0.0.7 refused")
	}))
	reg := testRegistration(t, app)
	h := reg.entry(t, "nightly").http
	at := "2026-11-22T03:00:00+01:00"
	tests := []struct {
		name, at   string
		closed     bool
		wantStatus int
		wantBody   string
	}{
		{"handler fails, retried", at, false, http.StatusServiceUnavailable,
			`{"type":"urn:polyfn:problem:unavailable","title":"Service Unavailable","status":503,"detail":"gcpfunctions: event \"nightly-report/2026-11-22T02:00:00Z\" failed (unavailable); redeliver","instance":"/"}`},
		{"bad schedule time, acknowledged", "soon", false, http.StatusAccepted,
			`{"type":"urn:polyfn:problem:invalid-argument","title":"Accepted","status":202,"detail":"gcpfunctions: event \"exec-1\" failed for good (invalid-argument); acknowledged","instance":"/"}`},
		{"shutting down", at, true, http.StatusServiceUnavailable,
			`{"type":"urn:polyfn:problem:unavailable","title":"Service Unavailable","status":503,"detail":"gcpfunctions: shutting down; redeliver","instance":"/"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.closed {
				if err := reg.gate.close(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set(schedulerJobHeader, "nightly-report")
			r.Header.Set(schedulerTimeHeader, tt.at)
			r.Header.Set("Function-Execution-Id", "exec-1")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type: got %q, want application/problem+json", got)
			}
			if got := strings.TrimSuffix(w.Body.String(), "\n"); got != tt.wantBody {
				t.Errorf("body:\ngot  %s\nwant %s", got, tt.wantBody)
			}
			if strings.Contains(w.Body.String(), "secret") {
				t.Error("the handler's error text reached Cloud Scheduler")
			}
		})
	}
}

func TestShutdownDrains(t *testing.T) {
	captureLogs(t)
	started, release := make(chan struct{}), make(chan struct{})
	closed := false
	app := core.NewApp("slow")
	app.OnClose(func(context.Context) error { closed = true; return nil })
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	app.On("record", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	r := testRegistration(t, app)
	go r.entry(t, "slow").http.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/slow", nil))
	<-started
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(context.Background()) }()
	waitFor(t, func() bool { r.gate.mu.Lock(); defer r.gate.mu.Unlock(); return r.gate.closed })

	w := httptest.NewRecorder()
	r.entry(t, "slow").http.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/slow", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("HTTP during shutdown: status %d, want 503", w.Code)
	}
	w = httptest.NewRecorder()
	serveCloudEvent(t, r.entry(t, "record").http).ServeHTTP(w, pubsubRequest("m1", "eA=="))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("event during shutdown: status %d, want 503 so that it is redelivered", w.Code)
	}
	select {
	case <-done:
		t.Fatal("Shutdown returned while an invocation was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil || !closed {
		t.Errorf("Shutdown = %v, app closed %v; want nil, closed", err, closed)
	}
}

func TestShutdownTimesOut(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	app := core.NewApp("stuck")
	app.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) { close(started); <-release })
	r := testRegistration(t, app)
	go r.entry(t, "stuck").http.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := r.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want a deadline error", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}

func TestEntryPointNames(t *testing.T) {
	twin := core.NewApp("twin")
	twin.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	twin.On("twin", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	tests := []struct {
		name string
		apps []*core.App
		want string
	}{
		{"an event function named like its app", []*core.App{twin}, `entry point "twin"`},
		{"nothing to serve", []*core.App{core.NewApp("empty")}, "no HTTP route and no event function"},
	}
	for _, tt := range tests {
		r := &Registration{apps: tt.apps}
		if err := r.build(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: build = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	mixed := core.NewApp("mixed")
	mixed.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	mixed.On("tick", core.TimerTrigger{Schedule: "@hourly"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	mixed.On("record", core.MessageTrigger{Subscription: "S"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	r := testRegistration(t, mixed)
	if got := r.EntryPoints(); !cmp.Equal(got, []string{"mixed", "tick", "record"}) {
		t.Errorf("entry points %v", got)
	}
	if r.entry(t, "tick").http == nil || r.entry(t, "record").http == nil {
		t.Error("every entry point must be an HTTP function")
	}
}

// TestRegisterStartFailures: a missing variable or a failing init hook stops
// Register before anything is registered, closing what was started.
func TestRegisterStartFailures(t *testing.T) {
	closed := false
	first := core.NewApp("first-ok")
	first.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	first.OnClose(func(context.Context) error { closed = true; return nil })
	second := core.NewApp("second-fails")
	second.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	second.Require(core.Bucket("SECOND_BUCKET_URL"))
	second.OnInit(func(context.Context, core.Env) error { return errors.New("no bucket today") })

	unset := &Options{Lookup: func(string) (string, bool) { return "", false }}
	err := register(context.Background(), []*core.App{first, second}, unset)
	var missing *core.MissingEnvError
	if !errors.As(err, &missing) || missing.Vars[0] != "SECOND_BUCKET_URL" {
		t.Errorf("Register = %v, want the missing SECOND_BUCKET_URL", err)
	}
	withBucket := &Options{Lookup: func(k string) (string, bool) { return "mem://", k == "SECOND_BUCKET_URL" }}
	if err := register(context.Background(), []*core.App{first, second}, withBucket); err == nil ||
		!strings.Contains(err.Error(), "no bucket today") || !closed {
		t.Errorf("Register = %v, first app closed %v; want the init error, closed", err, closed)
	}
	registered.Lock()
	defer registered.Unlock()
	if registered.names["first-ok"] {
		t.Error("a failed Register registered an entry point")
	}
}

// TestNewHasNoSideEffects: New builds the entry points without running an
// init hook or registering a name; Register does both.
func TestNewHasNoSideEffects(t *testing.T) {
	inits := 0
	app := core.NewApp("new-quiet")
	app.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	app.OnInit(func(context.Context, core.Env) error { inits++; return nil })
	r, err := New([]*core.App{app}, nil)
	if err != nil {
		t.Fatal(err)
	}
	registered.Lock()
	named := registered.names["new-quiet"]
	registered.Unlock()
	if named || inits != 0 {
		t.Fatalf("after New: registered %v, %d init hooks ran; want neither", named, inits)
	}
	if got := r.EntryPoints(); len(got) != 1 || got[0] != "new-quiet" {
		t.Errorf("EntryPoints = %v, want [new-quiet]", got)
	}
	if err := r.Register(t.Context()); err != nil || inits != 1 {
		t.Fatalf("Register = %v, %d init hooks ran; want nil and one", err, inits)
	}
	registered.Lock()
	named = registered.names["new-quiet"]
	registered.Unlock()
	if !named {
		t.Error("Register did not register the entry point")
	}
}

// register builds the Registration of apps and registers it.
func register(ctx context.Context, apps []*core.App, opts *Options) error {
	r, err := New(apps, opts)
	if err != nil {
		return err
	}
	return r.Register(ctx)
}

func TestNewLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(&buf, slog.LevelDebug))
	log.Debug("d")
	log.Info("i", slog.Group("g", slog.String("level", "kept")))
	log.Warn("w")
	log.Error("e")
	for _, want := range []string{
		`"severity":"DEBUG","message":"d"`, `"severity":"INFO","message":"i","g":{"level":"kept"}`,
		`"severity":"WARNING","message":"w"`, `"severity":"ERROR","message":"e"`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s lacks %s", buf.String(), want)
		}
	}
}

func TestListenAddress(t *testing.T) {
	tests := []struct {
		env              map[string]string
		host, port, fail string
	}{
		{nil, "", "8080", ""},
		{map[string]string{"PORT": "9000"}, "", "9000", ""},
		{map[string]string{"PORT": "9000", "POLYFN_ADDR": "127.0.0.1:7000"}, "127.0.0.1", "7000", ""},
		{map[string]string{"POLYFN_ADDR": "localhost"}, "", "", "POLYFN_ADDR"},
	}
	for _, tt := range tests {
		host, port, err := ListenAddress(func(k string) string { return tt.env[k] })
		if host != tt.host || port != tt.port || (err == nil) != (tt.fail == "") ||
			(err != nil && !strings.Contains(err.Error(), tt.fail)) {
			t.Errorf("ListenAddress(%v) = %q, %q, %v", tt.env, host, port, err)
		}
	}
}

// FuzzSchedulerRequest: any HTTP-target request decodes or fails with a
// client-error code, never a panic.
func FuzzSchedulerRequest(f *testing.F) {
	f.Add("nightly-report", "2026-11-22T03:00:00+01:00", []byte(`{"report":"daily"}`))
	f.Add("j", "soon", []byte{})
	f.Fuzz(func(t *testing.T, job, at string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header[schedulerJobHeader] = []string{job}
		r.Header[schedulerTimeHeader] = []string{at}
		e, err := timerFromRequest(httptest.NewRecorder(), r)
		if err != nil {
			if !core.CodeOf(err).IsClientError() {
				t.Fatalf("error %v has code %v, want a client error", err, core.CodeOf(err))
			}
			return
		}
		if e.Timer == nil || e.Timer.Name != job {
			t.Fatalf("event %v, want the timer of job %q", e, job)
		}
	})
}

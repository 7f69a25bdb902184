package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
	_ "github.com/polyfn/polyfn/providers/local"
)

// recorder collects the events a handler receives.
type recorder struct {
	mu     sync.Mutex
	events []core.Event
	invs   []core.Invocation
	got    chan core.Event
}

// newStarted makes a Runtime of apps and starts it.
func newStarted(ctx context.Context, apps []*core.App, opts *local.Options) (*local.Runtime, error) {
	rt, err := local.New(apps, opts)
	if err != nil {
		return nil, err
	}
	if err := rt.Start(ctx); err != nil {
		return nil, err
	}
	return rt, nil
}

func newRecorder() *recorder { return &recorder{got: make(chan core.Event, 100)} }

func (r *recorder) handler(fail func(core.Event) error) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		inv, _ := core.InvocationFrom(ctx)
		r.mu.Lock()
		r.events = append(r.events, e)
		if inv != nil {
			r.invs = append(r.invs, *inv)
		}
		r.mu.Unlock()
		var err error
		if fail != nil {
			err = fail(e)
		}
		r.got <- e
		return err
	})
}

func (r *recorder) next(t *testing.T, within time.Duration) core.Event {
	t.Helper()
	select {
	case e := <-r.got:
		return e
	case <-time.After(within):
		t.Fatalf("no event within %v", within)
		return core.Event{}
	}
}

func (r *recorder) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case e := <-r.got:
		t.Fatalf("unexpected event %s %s", e.Type(), e.Subject())
	case <-time.After(within):
	}
}

type testRuntime struct {
	*local.Runtime
	data string
}

func start(t *testing.T, env map[string]string, apps ...*core.App) *testRuntime {
	t.Helper()
	data := t.TempDir()
	rt, err := newStarted(t.Context(), apps, &local.Options{
		Addr:         "127.0.0.1:0",
		DataDir:      data,
		Lookup:       func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		PollInterval: 500 * time.Millisecond,
		Settle:       50 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &testRuntime{Runtime: rt, data: data}
}

// uniq returns a name unique in this test process: in-memory topics are
// shared process-wide.
var seq atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

func TestHTTPRoutesAndInvocation(t *testing.T) {
	app := core.NewApp("hello")
	var seen core.Invocation
	app.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		inv, _ := core.InvocationFrom(r.Context())
		seen = *inv
		fmt.Fprintf(w, "hello %s", r.PathValue("name"))
	})
	other := core.NewApp("other")
	other.HandleFunc("GET /other", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	rt := start(t, nil, app, other)

	req, _ := http.NewRequest("GET", rt.URL()+"/hello/ada", nil)
	req.Header.Set("X-Request-Id", "req-42")
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello ada" {
		t.Fatalf("GET /hello/ada = %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") != "req-42" {
		t.Errorf("X-Request-Id = %q, want it echoed", resp.Header.Get("X-Request-Id"))
	}
	if seen.ID != "req-42" || seen.Cloud != core.CloudLocal || seen.Function != "hello" ||
		seen.Trace.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("invocation = %+v", seen)
	}
	for path, want := range map[string]int{"/other": 204, "/missing": 404, "/_polyfn/healthz": 200} {
		resp, err := http.Get(rt.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestConflictingRoutesFailStart(t *testing.T) {
	a, b := core.NewApp("a"), core.NewApp("b")
	a.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	b.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	_, err := newStarted(t.Context(), []*core.App{a, b}, &local.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "conflicting") {
		t.Fatalf("Start = %v, want a conflicting-routes error", err)
	}
}

func TestInitFailureStopsStart(t *testing.T) {
	app := core.NewApp("broken")
	closed := false
	ok := core.NewApp("ok")
	ok.OnClose(func(context.Context) error { closed = true; return nil })
	app.OnInit(func(context.Context, core.Env) error { return fmt.Errorf("no database") })
	_, err := newStarted(t.Context(), []*core.App{ok, app}, &local.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("Start = %v, want the init error", err)
	}
	if !closed {
		t.Error("the app that had started was not closed")
	}
}

// TestNewHasNoSideEffects: New builds a Runtime without touching the data
// directory or running an init hook; Start does both, once.
func TestNewHasNoSideEffects(t *testing.T) {
	inits := 0
	app := core.NewApp("quiet")
	app.OnInit(func(context.Context, core.Env) error { inits++; return nil })
	data := filepath.Join(t.TempDir(), "data")
	rt, err := local.New([]*core.App{app}, &local.Options{Addr: "127.0.0.1:0", DataDir: data,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) || inits != 0 {
		t.Fatalf("after New: stat %s = %v, %d init hooks ran; want nothing done", data, err, inits)
	}
	if err := rt.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown before Start = %v", err)
	}
	if _, err := local.New([]*core.App{core.NewApp("twin"), core.NewApp("twin")}, nil); err == nil {
		t.Error("New accepted two apps of the same name")
	}
	rt, err = newStarted(t.Context(), []*core.App{app}, &local.Options{Addr: "127.0.0.1:0", DataDir: data,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.WithoutCancel(t.Context()))
	if _, err := os.Stat(data); err != nil || inits != 1 {
		t.Errorf("after Start: stat %s = %v, %d init hooks ran; want the directory and one", data, err, inits)
	}
	if err := rt.Start(t.Context()); err == nil {
		t.Error("a second Start succeeded")
	}
}

func TestLocalDefaults(t *testing.T) {
	app := core.NewApp("res")
	app.Require(core.Bucket("USERS_BUCKET_URL"), core.Topic("THUMBNAILS_TOPIC_URL"), core.Keeper("DATA_KEEPER_URL"), core.Variable("GREETING_URL"))
	app.On("orders", core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL", Topic: "ORDERS_TOPIC_URL"},
		core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	topic := uniq("mem://orders-")
	rt := start(t, map[string]string{"ORDERS_TOPIC_URL": topic}, app)
	env := rt.Env("res")
	bucketDir := filepath.ToSlash(filepath.Join(rt.data, "buckets", "users"))
	checks := map[string]string{
		"USERS_BUCKET_URL":        "file://" + bucketDir + "?create_dir=true&no_tmp_dir=true",
		"THUMBNAILS_TOPIC_URL":    "mem://thumbnails",
		"ORDERS_TOPIC_URL":        topic,
		"ORDERS_SUBSCRIPTION_URL": topic, // follows its in-memory topic
	}
	for k, want := range checks {
		if got := env(k); got != want {
			t.Errorf("env(%s) = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(env("DATA_KEEPER_URL"), "base64key://") || !strings.HasPrefix(env("GREETING_URL"), "file://") {
		t.Errorf("keeper %q, variable %q: want base64key:// and file://", env("DATA_KEEPER_URL"), env("GREETING_URL"))
	}
	// The development key is kept, so a restart decrypts what the last run encrypted.
	key, err := os.ReadFile(filepath.Join(rt.data, "secrets", "keeper.key"))
	if err != nil || !strings.Contains(env("DATA_KEEPER_URL"), strings.TrimSpace(string(key))) {
		t.Errorf("keeper key not kept in the data directory: %v", err)
	}
}

func objectApp(rec *recorder, events ...core.Kind) *core.App {
	app := core.NewApp("objects")
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/", Events: events}, rec.handler(nil))
	return app
}

func TestObjectTriggerFromToolkitWrite(t *testing.T) {
	rec := newRecorder()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "uploads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "uploads", "old.txt"), []byte("before start"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(dir) + "?no_tmp_dir=true"
	start(t, map[string]string{"MEDIA_BUCKET_URL": url}, objectApp(rec, core.KindObjectCreated, core.KindObjectDeleted))

	b, err := blob.OpenBucket(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	key := "uploads/red flower+ü.png"
	if err := b.WriteAll(t.Context(), key, []byte("png bytes"), &blob.WriterOptions{ContentType: "image/png"}); err != nil {
		t.Fatal(err)
	}
	e := rec.next(t, 5*time.Second)
	if e.Type() != core.TypeObjectCreated || e.Object == nil {
		t.Fatalf("event %s with object %v, want object created", e.Type(), e.Object)
	}
	if o := e.Object; o.Key != key || o.Size != 9 || o.ContentType != "image/png" || o.Bucket != filepath.Base(dir) || e.Subject() != key {
		t.Errorf("object = %+v, subject %q", o, e.Subject())
	}
	// Outside the prefix: nothing.
	if err := b.WriteAll(t.Context(), "thumbnails/x.png", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	rec.none(t, 700*time.Millisecond)

	if err := b.Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	e = rec.next(t, 5*time.Second)
	if e.Type() != core.TypeObjectDeleted || e.Object.Key != key {
		t.Errorf("after delete: %s %+v, want object deleted", e.Type(), e.Object)
	}
	rec.none(t, 300*time.Millisecond) // old.txt, present at start, never fired
}

func TestObjectTriggerFromDroppedFile(t *testing.T) {
	rec := newRecorder()
	dir := t.TempDir()
	start(t, map[string]string{"MEDIA_BUCKET_URL": "file://" + filepath.ToSlash(dir)}, objectApp(rec))

	// A file copied in slowly, into a directory created after start, fires
	// once, with its final size.
	sub := filepath.Join(dir, "uploads", "2026")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(sub, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := f.Write(bytes.Repeat([]byte("x"), 1000)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.Close()
	e := rec.next(t, 5*time.Second)
	if e.Object.Key != "uploads/2026/big.bin" || e.Object.Size != 5000 {
		t.Errorf("object = %+v, want uploads/2026/big.bin of 5000 bytes", e.Object)
	}
	rec.none(t, 700*time.Millisecond)
}

func TestObjectTriggerRetriesThenDeadLetters(t *testing.T) {
	rec := newRecorder()
	dir := t.TempDir()
	app := core.NewApp("flaky")
	var calls atomic.Int32
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"}, rec.handler(func(core.Event) error {
		if calls.Add(1) < 3 {
			return core.Errorf(core.Unavailable, "store down")
		}
		return nil
	}))
	rt := start(t, map[string]string{"MEDIA_BUCKET_URL": "file://" + filepath.ToSlash(dir)}, app)
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rec.next(t, 5*time.Second)
	}
	rec.none(t, 300*time.Millisecond)
	if rt.DeadLetters() != 0 {
		t.Errorf("dead letters = %d, want 0 after a retried success", rt.DeadLetters())
	}
}

func messageApp(rec *recorder, fail func(core.Event) error, ordered bool) *core.App {
	app := core.NewApp("consumer")
	app.On("consume", core.MessageTrigger{Subscription: "JOBS_SUBSCRIPTION_URL", Topic: "JOBS_TOPIC_URL", Ordered: ordered, MaxDeliveries: 3}, rec.handler(fail))
	return app
}

func TestMessagesRetryAndDeadLetter(t *testing.T) {
	rec := newRecorder()
	topicURL := uniq("mem://jobs-")
	fail := func(e core.Event) error {
		switch string(e.Message.Body) {
		case "malformed":
			return core.Errorf(core.InvalidArgument, "malformed job")
		case "flaky":
			if e.Message.DeliveryCount < 2 {
				return core.Errorf(core.Unavailable, "try again")
			}
		case "always-down":
			return fmt.Errorf("dependency down")
		}
		return nil
	}
	rt := start(t, map[string]string{"JOBS_TOPIC_URL": topicURL}, messageApp(rec, fail, false))
	topic, err := pubsub.OpenTopic(t.Context(), topicURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"ok", "malformed", "flaky", "always-down"} {
		if err := topic.Send(t.Context(), &pubsub.Message{Body: []byte(body), Metadata: map[string]string{"k": body}}); err != nil {
			t.Fatal(err)
		}
	}
	// ok 1 + malformed 1 (dead-lettered at once) + flaky 2 + always-down 3 (its limit).
	deliveries := map[string][]int{}
	ids := map[string]map[string]bool{} // body → event ids seen
	for range 7 {
		e := rec.next(t, 5*time.Second)
		body := string(e.Message.Body)
		deliveries[body] = append(deliveries[body], e.Message.DeliveryCount)
		if ids[body] == nil {
			ids[body] = map[string]bool{}
		}
		ids[body][e.ID()] = true
		if e.ID() != e.Message.ID || len(e.ID()) != 32 {
			t.Errorf("event id %q, message id %q: want one 128-bit id", e.ID(), e.Message.ID)
		}
		if e.Message.Attributes["k"] != string(e.Message.Body) || e.Type() != core.TypeMessage {
			t.Errorf("event %s attributes %v", e.Type(), e.Message.Attributes)
		}
	}
	rec.none(t, 500*time.Millisecond)
	for body, seen := range ids {
		if len(seen) != 1 {
			t.Errorf("%q was delivered with ids %v, want one id across redeliveries", body, seen)
		}
	}
	if len(ids) != 4 {
		t.Errorf("%d distinct messages, want 4", len(ids))
	}
	want := map[string]string{"ok": "[1]", "malformed": "[1]", "flaky": "[1 2]", "always-down": "[1 2 3]"}
	for body, w := range want {
		if got := fmt.Sprint(deliveries[body]); got != w {
			t.Errorf("deliveries of %q = %s, want %s", body, got, w)
		}
	}
	if got := rt.DeadLetters(); got != 2 {
		t.Errorf("dead letters = %d, want 2 (malformed, always-down)", got)
	}
	files, _ := filepath.Glob(filepath.Join(rt.data, "dead-letters", "consume", "*.json"))
	if len(files) != 2 {
		t.Fatalf("dead-letter files = %v, want 2", files)
	}
	var bodies []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var dl local.DeadLetter
		if err := json.Unmarshal(b, &dl); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		bodies = append(bodies, string(dl.Event.Message.Body)+":"+dl.Code)
	}
	if got := strings.Join(sorted(bodies), ","); got != "always-down:unknown,malformed:invalid-argument" {
		t.Errorf("dead letters = %s", got)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestDevEndpoints(t *testing.T) {
	rec := newRecorder()
	topicURL := uniq("mem://jobs-")
	app := messageApp(rec, func(e core.Event) error {
		if e.Kind() == core.KindChange && e.Change.Op == core.OpRemove {
			return core.Errorf(core.PermissionDenied, "removals are not allowed")
		}
		return nil
	}, false)
	changes := newRecorder()
	app.On("on-change", core.ChangeTrigger{Source: "USERS_TABLE"}, changes.handler(nil))
	rt := start(t, map[string]string{"JOBS_TOPIC_URL": topicURL}, app)

	// Publish through the dev endpoint: the topic's local name is "jobs".
	req, _ := http.NewRequest("POST", rt.URL()+"/_polyfn/topics/jobs", strings.NewReader(`{"job":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Polyfn-Attribute-Priority", "high")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("publish = %d, want 202", resp.StatusCode)
	}
	e := rec.next(t, 5*time.Second)
	if string(e.Message.Body) != `{"job":1}` || e.Message.Attributes["priority"] != "high" || e.Message.ContentType != "application/json" {
		t.Errorf("message = %+v", e.Message)
	}

	post := func(path, body string) (int, string) {
		resp, err := http.Post(rt.URL()+path, "application/cloudevents+json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	change := `{"specversion":"1.0","id":"c1","source":"//db/users","type":"dev.polyfn.change.written",
		"data":{"op":"insert","key":{"id":"u1"},"new":{"id":"u1","name":"Ada"}}}`
	if code, body := post("/_polyfn/events/on-change", change); code != 204 {
		t.Fatalf("POST change = %d %s, want 204", code, body)
	}
	if got := changes.next(t, time.Second); got.Change.Op != core.OpInsert || string(got.Change.New) != `{"id":"u1","name":"Ada"}` {
		t.Errorf("change = %+v", got.Change)
	}
	removal := strings.Replace(change, `"op":"insert"`, `"op":"remove"`, 1)
	if code, body := post("/_polyfn/events/consume", removal); code != 403 || !strings.Contains(body, "removals are not allowed") {
		t.Errorf("failing event = %d %s, want 403 with the error", code, body)
	}
	for path, want := range map[string]int{
		"/_polyfn/events/nope":    404,
		"/_polyfn/topics/nope":    404,
		"/_polyfn/events/consume": 400, // the body below is not an event
	} {
		if code, _ := post(path, `{"not":"an event"}`); code != want {
			t.Errorf("POST %s = %d, want %d", path, code, want)
		}
	}
}

func TestTimerFires(t *testing.T) {
	rec := newRecorder()
	app := core.NewApp("ticker")
	app.On("tick", core.TimerTrigger{Schedule: "* * * * * *"}, rec.handler(nil)) // every second
	start(t, nil, app)
	e := rec.next(t, 3*time.Second)
	tm := e.Timer
	if e.Type() != core.TypeTimer || tm.Name != "tick" || tm.PastDue || tm.ScheduledTime.Nanosecond() != 0 {
		t.Errorf("timer event %s %+v", e.Type(), tm)
	}
	if d := time.Since(tm.ScheduledTime); d < 0 || d > 2*time.Second {
		t.Errorf("scheduled time %v is %v from now", tm.ScheduledTime, d)
	}
}

func TestTimerScheduleErrors(t *testing.T) {
	for _, tt := range []core.TimerTrigger{{Schedule: "not a schedule"}, {Schedule: "@hourly", TimeZone: "Mars/Olympus"}} {
		app := core.NewApp("bad")
		app.On("tick", tt, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
		_, err := newStarted(t.Context(), []*core.App{app}, &local.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			t.Errorf("Start with %+v succeeded, want an error", tt)
		}
	}
	for _, spec := range []string{"*/5 * * * *", "0 */5 * * * *", "@every 10m", "@daily"} {
		if _, err := local.ParseSchedule(core.TimerTrigger{Schedule: spec, TimeZone: "Europe/Paris"}); err != nil {
			t.Errorf("ParseSchedule(%q): %v", spec, err)
		}
	}
}

package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/polyfn/polyfn/adapters/gcpfunctions"
	"github.com/polyfn/polyfn/core"
)

// These tests serve test apps with the real Functions Framework in this
// process: funcframework.StartHostPort on 127.0.0.1, every registered
// function at /<entry point> (FUNCTION_TARGET unset), and real HTTP requests.

// received is what an event function of the test apps was called with.
type received struct {
	fn  string
	e   core.Event
	inv core.Invocation
}

var served struct {
	once sync.Once
	url  string
	err  error
	got  chan received
}

// framework starts the Functions Framework once per test binary with the
// test apps registered, and returns its URL.
func framework(t *testing.T) string {
	t.Helper()
	served.once.Do(func() {
		served.got = make(chan received, 100)
		if err := register(context.Background(), []*core.App{echoApp(), eventsApp()}, nil); err != nil {
			served.err = err
			return
		}
		served.url, served.err = startFramework()
	})
	if served.err != nil {
		t.Fatal(served.err)
	}
	return served.url
}

// startFramework serves what is registered so far on a free loopback port.
// The framework's server cannot be stopped; it ends with the test binary.
func startFramework() (string, error) {
	if err := os.Unsetenv("FUNCTION_TARGET"); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	failed := make(chan error, 1)
	go func() { failed <- funcframework.StartHostPort("127.0.0.1", port) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-failed:
			return "", err
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, nil
		}
	}
	return "", fmt.Errorf("the framework is not listening on %s after 10s", addr)
}

// echoApp answers POST /echo with what it received.
func echoApp() *core.App {
	app := core.NewApp("echo")
	app.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		inv, _ := core.InvocationFrom(r.Context())
		_, hasDeadline := r.Context().Deadline()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{
			RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Multi: r.Header["X-Multi"], Body: body,
			InvocationID: inv.ID, Trace: inv.Trace, Deadline: hasDeadline && !inv.Deadline.IsZero(),
		})
	})
	return app
}

type echo struct {
	RawQuery     string
	Query        map[string][]string
	Multi        []string
	Body         []byte
	InvocationID string
	Trace        core.Trace
	Deadline     bool
}

// eventsApp has one event function of each kind, each recording what it
// receives. record-messages fails with the code named by the attribute
// "fail", and panics when the attribute "panic" is set.
func eventsApp() *core.App {
	app := core.NewApp("events")
	record := func(fn string) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			inv, _ := core.InvocationFrom(ctx)
			served.got <- received{fn: fn, e: e, inv: *inv}
			if e.Message == nil {
				return nil
			}
			if _, ok := e.Message.Attributes["panic"]; ok {
				panic("record-messages was asked to panic")
			}
			for _, c := range core.Codes() {
				if e.Message.Attributes["fail"] == c.String() {
					return core.Errorf(c, "asked to fail with %s", c)
				}
			}
			return nil
		})
	}
	app.On("record-objects", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/",
		Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, record("record-objects"))
	app.On("record-messages", core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL"}, record("record-messages"))
	app.On("record-changes", core.ChangeTrigger{Source: "USERS_COLLECTION"}, record("record-changes"))
	app.On("record-timer", core.TimerTrigger{Schedule: "0 3 * * *"}, record("record-timer"))
	return app
}

// next returns the next event a test app received.
func next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-served.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no event received within 5s")
		return received{}
	}
}

// drain forgets events received by earlier requests.
func drain() {
	for {
		select {
		case <-served.got:
		default:
			return
		}
	}
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func newRequest(t *testing.T, method, url string, body []byte, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

func TestFrameworkHTTP(t *testing.T) {
	url := framework(t) + "/echo"
	t.Setenv("CLOUD_RUN_TIMEOUT_SECONDS", "30")
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i)
	}
	large := make([]byte, 1<<20)
	_, _ = rand.Read(large)
	tests := []struct {
		name    string
		query   string
		body    []byte
		headers []string
		check   func(t *testing.T, got echo)
	}{
		{"repeated query keys and headers", "?tag=a&tag=b&empty=&q=x%2By", nil,
			[]string{"X-Multi", "1", "X-Multi", "2"}, func(t *testing.T, got echo) {
				if got.RawQuery != "tag=a&tag=b&empty=&q=x%2By" || len(got.Query["tag"]) != 2 ||
					got.Query["q"][0] != "x+y" || len(got.Multi) != 2 || got.Multi[1] != "2" {
					t.Errorf("got %+v", got)
				}
			}},
		{"binary body", "", binary, nil, func(t *testing.T, got echo) {
			if !bytes.Equal(got.Body, binary) {
				t.Error("the binary body changed")
			}
		}},
		{"large body", "", large, nil, func(t *testing.T, got echo) {
			if !bytes.Equal(got.Body, large) {
				t.Error("the large body changed")
			}
		}},
		{"empty body", "", nil, nil, func(t *testing.T, got echo) {
			if len(got.Body) != 0 {
				t.Errorf("body %q, want empty", got.Body)
			}
		}},
		{"execution id, traceparent wins, deadline", "", nil, []string{
			"Function-Execution-Id", "exec-7",
			"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1",
		}, func(t *testing.T, got echo) {
			if got.InvocationID != "exec-7" || got.Trace.Format != core.TraceW3C || !got.Deadline {
				t.Errorf("got %+v, want execution id exec-7, a W3C trace and a deadline", got)
			}
		}},
		{"X-Cloud-Trace-Context alone", "", nil, []string{"X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/99;o=1"},
			func(t *testing.T, got echo) {
				if got.Trace.Format != core.TraceGCP || got.Trace.SpanID != "99" || got.InvocationID == "" {
					t.Errorf("got %+v, want a GCP trace with span 99 and the framework's execution id", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, newRequest(t, http.MethodPost, url+tt.query, tt.body, tt.headers...))
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var got echo
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// structured is a structured-mode CloudEvent: JSON data inline, other data
// as data_base64.
func structured(t *testing.T, typ, source, subject, contentType string, data []byte) ([]byte, []string) {
	t.Helper()
	ce := map[string]any{"specversion": "1.0", "id": "evt-s", "type": typ, "source": source,
		"time": "2026-11-21T10:30:00Z", "datacontenttype": contentType}
	if subject != "" {
		ce["subject"] = subject
	}
	if strings.Contains(contentType, "json") {
		ce["data"] = json.RawMessage(data)
	} else {
		ce["data_base64"] = base64.StdEncoding.EncodeToString(data)
	}
	b, err := json.Marshal(ce)
	if err != nil {
		t.Fatal(err)
	}
	return b, []string{"Content-Type", "application/cloudevents+json"}
}

func binaryMode(typ, source, subject, contentType string, data []byte) ([]byte, []string) {
	h := []string{"Ce-Specversion", "1.0", "Ce-Id", "evt-b", "Ce-Type", typ, "Ce-Source", source,
		"Ce-Time", "2026-11-21T10:30:00Z", "Content-Type", contentType}
	if subject != "" {
		h = append(h, "Ce-Subject", subject)
	}
	return data, h
}

func testdata(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	bucketSource = "//storage.googleapis.com/projects/_/buckets/media-bucket"
	topicSource  = "//pubsub.googleapis.com/projects/my-project/topics/orders"
	fsSource     = "//firestore.googleapis.com/projects/my-project/databases/(default)"
	typeFinal    = "google.cloud.storage.object.v1.finalized"
	typePublish  = "google.cloud.pubsub.topic.v1.messagePublished"
)

// TestFrameworkCloudEvents sends every payload form through the framework:
// binary and structured CloudEvents, legacy background events, a plain
// Pub/Sub push request and a Cloud Scheduler HTTP-target request, and checks
// the neutral event and the invocation the function receives.
func TestFrameworkCloudEvents(t *testing.T) {
	base := framework(t)
	t.Setenv("CLOUD_RUN_TIMEOUT_SECONDS", "60")
	tests := []struct {
		name, fn string
		body     []byte
		headers  []string
		check    func(t *testing.T, r received)
	}{
		{"storage finalized, binary", "record-objects", nil, nil, nil},
		{"storage finalized, structured", "record-objects", nil, nil, nil},
		{"storage finalize, legacy background event", "record-objects", testdata(t, "legacy", "storage-finalize.json"),
			[]string{"Content-Type", "application/json"}, func(t *testing.T, r received) {
				o := r.e.Object
				if r.e.Kind() != core.KindObjectCreated || o.Key != "uploads/cat.png" || o.Bucket != "media-bucket" ||
					o.Size != 1024 || r.e.ID() != "1147091835525187" || r.e.Source() != bucketSource ||
					r.e.Subject() != "uploads/cat.png" || r.e.NativeType() != typeFinal {
					t.Errorf("event %v, object %+v", r.e, o)
				}
			}},
		{"storage deleted, binary", "record-objects", nil, nil, nil},
		{"pub/sub, binary", "record-messages", nil, nil, nil},
		{"pub/sub, structured, duplicated fields", "record-messages", nil, nil, nil},
		{"pub/sub publish, legacy background event", "record-messages", testdata(t, "legacy", "pubsub-publish.json"),
			[]string{"Content-Type", "application/json"}, func(t *testing.T, r received) {
				m := r.e.Message
				if m.ID != "1144231683168617" || string(m.Body) != `{"id":"A-1001"}` || m.Attributes["origin"] != "legacy" ||
					!m.PublishTime.Equal(time.Date(2026, 11, 21, 10, 30, 0, 123000000, time.UTC)) || r.e.Source() != topicSource {
					t.Errorf("event %v, message %+v", r.e, m)
				}
			}},
		{"pub/sub, plain push request", "record-messages", testdata(t, "legacy", "pubsub-push.json"),
			[]string{"Content-Type", "application/json"}, func(t *testing.T, r received) {
				m := r.e.Message
				if m.ID != "2070443601311540" || string(m.Body) != `{"id":"A-1001"}` || m.Attributes["origin"] != "push" ||
					m.Subscription != "projects/my-project/subscriptions/orders-push" || r.e.NativeType() != typePublish ||
					r.e.Source() != "//pubsub.googleapis.com/projects/my-project/subscriptions/orders-push" {
					t.Errorf("event %v, message %+v", r.e, m)
				}
			}},
		{"firestore created, binary protobuf", "record-changes", nil, nil, nil},
		{"firestore updated, structured protobuf", "record-changes", nil, nil, nil},
		{"firestore updated, binary JSON", "record-changes", nil, nil, nil},
		{"firestore deleted, structured JSON", "record-changes", nil, nil, nil},
		{"scheduler via pub/sub, binary", "record-timer", nil, nil, nil},
		{"scheduler via pub/sub, structured", "record-timer", nil, nil, nil},
		{"scheduler HTTP target", "record-timer", []byte(`{"report":"daily"}`), []string{
			"X-CloudScheduler", "true", "X-CloudScheduler-JobName", "nightly-report",
			"X-CloudScheduler-ScheduleTime", "2026-11-22T03:00:00Z", "User-Agent", "Google-Cloud-Scheduler",
		}, func(t *testing.T, r received) {
			tm := r.e.Timer
			if tm == nil || tm.Name != "nightly-report" || string(tm.Payload) != `{"report":"daily"}` ||
				!tm.ScheduledTime.Equal(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)) || r.inv.ID == "" {
				t.Errorf("event %v, timer %+v, invocation %+v", r.e, tm, r.inv)
			}
		}},
	}
	forms := map[string]func() ([]byte, []string){
		"storage finalized, binary": func() ([]byte, []string) {
			return binaryMode(typeFinal, bucketSource, "objects/uploads/red+flower 1.jpg", "application/json", testdata(t, "storage", "finalized.json"))
		},
		"storage finalized, structured": func() ([]byte, []string) {
			return structured(t, typeFinal, bucketSource, "objects/uploads/red+flower 1.jpg", "application/json", testdata(t, "storage", "finalized.json"))
		},
		"storage deleted, binary": func() ([]byte, []string) {
			return binaryMode("google.cloud.storage.object.v1.deleted", bucketSource, "", "application/json", testdata(t, "storage", "deleted.json"))
		},
		"pub/sub, binary": func() ([]byte, []string) {
			return binaryMode(typePublish, topicSource, "", "application/json", testdata(t, "pubsub", "full.json"))
		},
		"pub/sub, structured, duplicated fields": func() ([]byte, []string) {
			return structured(t, typePublish, topicSource, "", "application/json", testdata(t, "pubsub", "duplicated-fields.json"))
		},
		"firestore created, binary protobuf": func() ([]byte, []string) {
			return binaryMode("google.cloud.firestore.document.v1.created", fsSource, "documents/users/u1", "application/protobuf", testdata(t, "firestore", "created.pb"))
		},
		"firestore updated, structured protobuf": func() ([]byte, []string) {
			return structured(t, "google.cloud.firestore.document.v1.updated", fsSource, "documents/users/u1", "application/protobuf", testdata(t, "firestore", "updated.pb"))
		},
		"firestore updated, binary JSON": func() ([]byte, []string) {
			return binaryMode("google.cloud.firestore.document.v1.written", fsSource, "documents/users/u1", "application/json", testdata(t, "firestore", "updated.json"))
		},
		"firestore deleted, structured JSON": func() ([]byte, []string) {
			return structured(t, "google.cloud.firestore.document.v1.deleted", fsSource, "documents/users/u1", "application/json", testdata(t, "firestore", "deleted.json"))
		},
		"scheduler via pub/sub, binary": func() ([]byte, []string) {
			return binaryMode(typePublish, topicSource, "", "application/json", testdata(t, "pubsub", "attributes-only.json"))
		},
		"scheduler via pub/sub, structured": func() ([]byte, []string) {
			return structured(t, typePublish, topicSource, "", "application/json", testdata(t, "pubsub", "attributes-only.json"))
		},
	}
	checks := map[string]func(t *testing.T, r received){
		"record-objects": func(t *testing.T, r received) {
			if o := r.e.Object; o == nil || o.Bucket != "media-bucket" || !strings.HasPrefix(o.Key, "uploads/") || o.Size == 0 ||
				r.e.Source() != bucketSource || r.inv.ID != r.e.ID() {
				t.Errorf("event %v, object %+v, invocation %+v", r.e, o, r.inv)
			}
		},
		"record-messages": func(t *testing.T, r received) {
			// A push request's topic comes from the URL path, which here is /record-messages.
			if m := r.e.Message; m == nil || m.ID == "" || len(m.Body) == 0 || m.PublishTime.IsZero() ||
				!strings.HasPrefix(r.e.Source(), "//pubsub.googleapis.com/") {
				t.Errorf("event %v, message %+v", r.e, m)
			}
		},
		"record-changes": func(t *testing.T, r received) {
			c := r.e.Change
			if c == nil || c.Document != "projects/my-project/databases/(default)/documents/users/u1" ||
				(c.Op != core.OpRemove && !bytes.Contains(c.New, []byte(`"visits":900719925474099`))) ||
				(c.Op != core.OpInsert && !bytes.Contains(c.Old, []byte(`"visits":9007199254740993`))) {
				t.Errorf("event %v, change %+v", r.e, c)
			}
		},
		"record-timer": func(t *testing.T, r received) {
			if tm := r.e.Timer; tm == nil || tm.Name != "nightly-report" || tm.ScheduledTime.IsZero() {
				t.Errorf("event %v, timer %+v", r.e, tm)
			}
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drain()
			body, headers := tt.body, tt.headers
			if form, ok := forms[tt.name]; ok {
				body, headers = form()
			}
			status, resp := do(t, newRequest(t, http.MethodPost, base+"/"+tt.fn, body, headers...))
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, resp)
			}
			r := next(t)
			if r.fn != tt.fn {
				t.Fatalf("received by %s, want %s", r.fn, tt.fn)
			}
			checks[tt.fn](t, r)
			if r.inv.Deadline.IsZero() {
				t.Error("no deadline, though CLOUD_RUN_TIMEOUT_SECONDS is set")
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestFrameworkAcknowledgement sends a failing event for every code through
// the framework: client errors are acknowledged (202), everything else gets
// a status the sender retries.
func TestFrameworkAcknowledgement(t *testing.T) {
	url := framework(t) + "/record-messages"
	send := func(attrs string, data string) int {
		body := `{"message":{"attributes":{` + attrs + `},"data":"` + data + `","messageId":"m"}}`
		b, h := binaryMode(typePublish, topicSource, "", "application/json", []byte(body))
		status, _ := do(t, newRequest(t, http.MethodPost, url, b, h...))
		return status
	}
	for _, code := range core.Codes() {
		status := send(`"fail":"`+code.String()+`"`, "eA==")
		if code.IsClientError() && status != http.StatusAccepted {
			t.Errorf("%v: status %d, want 202 (acknowledged)", code, status)
		}
		if !code.IsClientError() && status < 300 {
			t.Errorf("%v: status %d, want a status that is retried", code, status)
		}
	}
	if s := send("", "!!"); s != http.StatusAccepted {
		t.Errorf("malformed data: status %d, want 202", s)
	}
	if s := send(`"panic":"1"`, "eA=="); s != http.StatusInternalServerError {
		t.Errorf("panic: status %d, want 500", s)
	}
	if s := send("", "eA=="); s != http.StatusOK {
		t.Errorf("after a panic: status %d, want 200", s)
	}
	drain()
}

// TestFrameworkRejectsMalformedEnvelope: a request that is not a
// CloudEvent at all is answered 400 with the reason, and no function runs.
// Eventarc never sends one.
func TestFrameworkRejectsMalformedEnvelope(t *testing.T) {
	url := framework(t) + "/record-messages"
	drain()
	status, body := do(t, newRequest(t, http.MethodPost, url, []byte(`{"specversion":`), "Content-Type", "application/cloudevents+json"))
	if status != http.StatusBadRequest || !strings.Contains(string(body), "CloudEvent") {
		t.Errorf("status %d: %s; want 400 naming the CloudEvent", status, body)
	}
	select {
	case r := <-served.got:
		t.Errorf("the function received %v", r.e)
	default:
	}
}

// register builds the Registration of apps and registers it with the
// framework.
func register(ctx context.Context, apps []*core.App, opts *gcpfunctions.Options) error {
	r, err := gcpfunctions.New(apps, opts)
	if err != nil {
		return err
	}
	return r.Register(ctx)
}

func TestRegisterTwiceRefused(t *testing.T) {
	framework(t)
	err := register(context.Background(), []*core.App{echoApp()}, nil)
	if err == nil || !strings.Contains(err.Error(), `entry point "echo" is registered already`) {
		t.Errorf("Register = %v, want the duplicate refused", err)
	}
}

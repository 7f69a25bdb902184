package azurefunctions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

func TestMain(m *testing.M) {
	// As cmd/launch does: the Logs capture over the stamping JSON handler.
	slog.SetDefault(slog.New(azurefunctions.NewLogHandler(io.Discard, io.Discard, slog.LevelInfo)))
	code := m.Run()
	if bins.dir != "" {
		_ = os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// bins are the handler executables the tests run as the host would, built
// once per test binary with -tags azure.
var bins struct {
	once sync.Once
	dir  string
	err  error
}

// binary returns the path of the -tags azure build of triggerapp (the
// package in testdata), users, orders or thumbnails.
func binary(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the handler executables; skipped with -short")
	}
	bins.once.Do(func() {
		if bins.dir, bins.err = os.MkdirTemp("", "azurefunctions-test-"); bins.err != nil {
			return
		}
		// Without symbol tables the four links take a fraction of the time.
		cmd := exec.Command("go", "build", "-tags", "azure", "-ldflags=-s -w", "-o", bins.dir+string(filepath.Separator),
			"./testdata/triggerapp", "../../cmd/users", "../../cmd/orders", "../../cmd/thumbnails")
		if out, err := cmd.CombinedOutput(); err != nil {
			bins.err = fmt.Errorf("go build -tags azure: %v\n%s", err, out)
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return filepath.Join(bins.dir, name)
}

// recorder keeps the events and invocations an in-process app receives.
type recorder struct {
	mu     sync.Mutex
	events map[string][]received
}

type received struct {
	event      core.Event
	invocation core.Invocation
}

func (r *recorder) handler(fn string) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		inv, _ := core.InvocationFrom(ctx)
		r.mu.Lock()
		r.events[fn] = append(r.events[fn], received{e, *inv})
		r.mu.Unlock()
		slog.InfoContext(ctx, "event received", slog.String("event_id", e.ID()))
		return outcome(e)
	})
}

// take returns and forgets what fn received.
func (r *recorder) take(fn string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.events[fn]
	delete(r.events, fn)
	return got
}

// outcome fails an event whose message body, object key or document id is
// "fail:<code>", and panics on "panic", as testdata/triggerapp does.
func outcome(e core.Event) error {
	var marker string
	switch {
	case e.Message != nil:
		marker = string(e.Message.Body)
	case e.Object != nil:
		marker = e.Object.Key[strings.LastIndex(e.Object.Key, "/")+1:]
	case e.Change != nil:
		marker = e.Change.ID
	case e.Record != nil:
		marker = string(e.Record.Data)
	}
	if marker == "panic" {
		panic("asked to panic")
	}
	if name, ok := strings.CutPrefix(marker, "fail:"); ok {
		for _, c := range core.Codes() {
			if c.String() == name {
				return core.Errorf(c, "asked to fail with %s", name)
			}
		}
	}
	return nil
}

// testApp has the functions of testdata/triggerapp, in process.
func testApp(rec *recorder) *core.App {
	app := core.NewApp("triggers")
	app.HandleFunc("/echo/{rest...}", echo)
	app.HandleFunc("GET /binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0xff, 0})
	})
	app.HandleFunc("GET /log/{marker}", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			slog.InfoContext(r.Context(), "line", slog.String("marker", r.PathValue("marker")), slog.Int("i", i))
		}
		slog.Info("without the invocation's context")
		w.WriteHeader(http.StatusNoContent)
	})
	for name, trig := range map[string]core.Trigger{
		"on-upload":        core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/"},
		"on-blob-event":    core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}},
		"on-queue":         core.MessageTrigger{Subscription: "JOBS_SUBSCRIPTION_URL"},
		"on-bus":           core.MessageTrigger{Subscription: "BUS_SUBSCRIPTION_URL", Ordered: true},
		"on-change":        core.ChangeTrigger{Source: "ITEMS_CONTAINER"},
		"on-timer":         core.TimerTrigger{Schedule: "*/5 * * * *"},
		"on-stream":        core.StreamTrigger{Stream: "CLICKS_STREAM_URL"},
		"on-bus-unordered": core.MessageTrigger{Subscription: "BUS2_SUBSCRIPTION_URL"},
	} {
		app.On(name, trig, rec.handler(name))
	}
	return app
}

// echoed is the JSON body of /echo/{rest...}.
type echoed struct {
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	RawPath  string              `json:"escaped_path"`
	Rest     string              `json:"rest"`
	RawQuery string              `json:"raw_query"`
	Query    map[string][]string `json:"query"`
	Header   http.Header         `json:"header"`
	Host     string              `json:"host"`
	Remote   string              `json:"remote"`
	Body     []byte              `json:"body"`
	// Invocation is the invocation metadata the route saw.
	Invocation *core.Invocation `json:"invocation"`
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		core.WriteError(w, r, core.Errorf(core.InvalidArgument, "reading the body: %w", err))
		return
	}
	inv, _ := core.InvocationFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{
		Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Rest: r.PathValue("rest"),
		RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Header: r.Header, Host: r.Host, Remote: r.RemoteAddr,
		Body: body, Invocation: inv,
	})
}

// inProcess serves the test app through a Handler on an httptest server
// and returns the simulated host for it.
func inProcess(t *testing.T, opts *azurefunctions.Options) (*azurefunctionstest.Host, *recorder) {
	t.Helper()
	rec := &recorder{events: map[string][]received{}}
	h, err := azurefunctions.New([]*core.App{testApp(rec)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	prefix := ""
	if opts != nil {
		prefix = opts.RoutePrefix
	}
	return azurefunctionstest.Attach(srv.URL, prefix), rec
}

// decodeEcho reads an echo response body.
func decodeEcho(t *testing.T, body []byte) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("echo body %q: %v", body, err)
	}
	return e
}

// queueMessage is a queue trigger invocation of a message with text.
func queueMessage(text string) azurefunctionstest.Invocation {
	return azurefunctionstest.QueueTrigger(azurefunctionstest.QueueMessage{
		ID: "5a4e9c51-3f2b-4c1e-9a3d-000000000001", Text: text, DequeueCount: 1,
		InsertionTime: time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC),
	})
}

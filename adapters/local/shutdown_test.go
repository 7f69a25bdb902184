package local_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
)

// TestGracefulShutdownDrains proves that Shutdown waits for an HTTP request
// and an event that are in flight, lets both finish with their results, and
// refuses new requests meanwhile.
func TestGracefulShutdownDrains(t *testing.T) {
	release := make(chan struct{})
	httpEntered, eventEntered := make(chan struct{}), make(chan struct{})
	eventDone := make(chan error, 1)
	app := core.NewApp("slow")
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(httpEntered)
		<-release
		io.WriteString(w, "finished")
	})
	dir := t.TempDir()
	app.On("slow-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"}, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		close(eventEntered)
		<-release
		eventDone <- ctx.Err()
		return nil
	}))
	rt, err := newStarted(t.Context(), []*core.App{app}, &local.Options{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Settle: 10 * time.Millisecond,
		Lookup: func(k string) (string, bool) { return "file://" + filepath.ToSlash(dir), k == "MEDIA_BUCKET_URL" },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(rt.URL() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-httpEntered
	<-eventEntered

	stopped := make(chan error, 1)
	go func() { stopped <- rt.Shutdown(context.Background()) }()

	// While draining: new connections are refused and Shutdown has not returned.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(rt.URL() + "/_polyfn/healthz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts requests while draining")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) before the in-flight invocations finished", err)
	default:
	}

	close(release)
	if r := <-got; r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request = %+v, want 200 finished", r)
	}
	if err := <-eventDone; err != nil {
		t.Errorf("in-flight event saw its context end: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

// TestShutdownDrainTimeout proves that an invocation still running when the
// drain's time is up sees its context canceled, and Shutdown says so.
func TestShutdownDrainTimeout(t *testing.T) {
	app, entered, sawCancel := stuckApp()
	rt, err := newStarted(t.Context(), []*core.App{app}, &local.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = rt.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the drain deadline", err)
	}
	if !<-sawCancel {
		t.Error("the stuck invocation's context was not canceled")
	}
}

// TestRunNegativeDrainCancelsAtOnce: with a negative Drain, Run waits for
// no invocation in flight once its context ends: it cancels them at once.
func TestRunNegativeDrainCancelsAtOnce(t *testing.T) {
	app, entered, sawCancel := stuckApp()
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- local.Run(ctx, []*core.App{app}, &local.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Drain: -1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	<-entered
	stop()
	if !<-sawCancel {
		t.Error("the invocation in flight was not canceled")
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run = %v, want the drain's deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

// stuckApp is an app whose timer function runs until its context ends
// (10 s at most): entered is closed when it starts, and sawCancel says
// whether its context was canceled.
func stuckApp() (app *core.App, entered chan struct{}, sawCancel chan bool) {
	entered, sawCancel = make(chan struct{}), make(chan bool, 1)
	app = core.NewApp("stuck")
	app.On("stuck", core.TimerTrigger{Schedule: "* * * * * *"}, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		close(entered)
		select {
		case <-ctx.Done():
			sawCancel <- true
		case <-time.After(10 * time.Second):
			sawCancel <- false
		}
		return ctx.Err()
	}))
	return app, entered, sawCancel
}

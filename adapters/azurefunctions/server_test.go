package azurefunctions_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

func TestAddr(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "51234"}, "127.0.0.1:51234"},
		{map[string]string{"FUNCTIONS_HTTPWORKER_PORT": "51235"}, "127.0.0.1:51235"},
		{map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "51234", "FUNCTIONS_HTTPWORKER_PORT": "1"}, "127.0.0.1:51234"},
		{nil, "127.0.0.1:7071"},
	}
	for _, tt := range tests {
		if got := azurefunctions.Addr(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("Addr(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestHostOptions(t *testing.T) {
	tests := []struct {
		hostJSON string
		want     azurefunctions.Options
		wantErr  bool
	}{
		{`{"version":"2.0"}`, azurefunctions.Options{}, false},
		{`{"version":"2.0","extensions":{"http":{"routePrefix":"v1"}},"functionTimeout":"00:05:00"}`,
			azurefunctions.Options{RoutePrefix: "v1", FunctionTimeout: 5 * time.Minute}, false},
		{`{"extensions":{"http":{"routePrefix":""}},"functionTimeout":"1.02:03:04.5"}`,
			azurefunctions.Options{RoutePrefix: "/", FunctionTimeout: 26*time.Hour + 3*time.Minute + 4500*time.Millisecond}, false},
		{`{"functionTimeout":"-1"}`, azurefunctions.Options{}, false},
		{`{"functionTimeout":"5 minutes"}`, azurefunctions.Options{}, true},
		{`{`, azurefunctions.Options{}, true},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(tt.hostJSON), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := azurefunctions.HostOptions(dir)
		if (err != nil) != tt.wantErr {
			t.Errorf("HostOptions(%s): %v, want error %v", tt.hostJSON, err, tt.wantErr)
			continue
		}
		if err == nil && *got != tt.want {
			t.Errorf("HostOptions(%s) = %+v, want %+v", tt.hostJSON, *got, tt.want)
		}
	}
	if got, err := azurefunctions.HostOptions(t.TempDir()); err != nil || *got != (azurefunctions.Options{}) {
		t.Errorf("HostOptions without host.json = %+v, %v; want the defaults", got, err)
	}
}

// TestServeDrains proves that a stopped server finishes the request in
// flight, refuses new ones, and cancels what outlives the drain.
func TestServeDrains(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	sawCancel := make(chan bool, 1)
	app := core.NewApp("drain")
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
			_, _ = io.WriteString(w, "finished")
		case <-r.Context().Done():
			sawCancel <- true
		}
	})
	for _, tt := range []struct {
		name  string
		drain time.Duration
	}{{"finishes in time", 10 * time.Second}, {"outlives the drain", 50 * time.Millisecond}} {
		t.Run(tt.name, func(t *testing.T) {
			entered, release = make(chan struct{}), make(chan struct{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(t.Context())
			served := make(chan error, 1)
			h, err := azurefunctions.New([]*core.App{app}, &azurefunctions.Options{
				RoutePrefix: "/", Drain: tt.drain, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			go func() { served <- h.Serve(ctx, ln) }()
			got := make(chan string, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
				if err != nil {
					got <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got <- string(b)
			}()
			<-entered
			stop()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatal("the server still accepts connections while draining")
				}
			}
			if tt.drain > time.Second {
				close(release)
				if body := <-got; body != "finished" {
					t.Errorf("in-flight request got %q", body)
				}
				if err := <-served; err != nil {
					t.Errorf("Serve = %v", err)
				}
				return
			}
			if err := <-served; err == nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Serve = %v, want the drain's deadline", err)
			}
			if !<-sawCancel {
				t.Error("the abandoned invocation's context was not canceled")
			}
			close(release)
			<-got
		})
	}
}
